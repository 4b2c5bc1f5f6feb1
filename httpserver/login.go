package httpserver

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/ratelimit"
)

// LoginGate is the one way in for the API and the UI alike: it applies the
// login rate limits, bounds the password hashing running at once, counts
// the outcome and calls the auth service.
type LoginGate struct {
	perIP, perAccount *ratelimit.Window
	metrics           *metrics.Metrics
	log               *slog.Logger
	slots             chan struct{}
}

// NewLoginGate limits attempts per client address with perIP and failed
// attempts per account with perAccount; at most concurrency password checks
// run at once (each takes ~19 MiB and a core for ~50 ms).
func NewLoginGate(perIP, perAccount *ratelimit.Window, m *metrics.Metrics, log *slog.Logger, concurrency int) *LoginGate {
	if concurrency <= 0 {
		concurrency = 4
	}
	return &LoginGate{perIP: perIP, perAccount: perAccount, metrics: m, log: log, slots: make(chan struct{}, concurrency)}
}

// ErrTooManyLogins is returned when a limit is reached; RetryAfter says how long to wait.
var ErrTooManyLogins = &rpcrm.Error{Code: rpcrm.ERATELIMIT, Message: "Zu viele Anmeldeversuche. Bitte warten Sie einen Moment."}

// clientKey is what the per-client limit counts by: an IPv4 address, or
// the /64 network of an IPv6 address. One IPv6 subscriber (a home, a
// server) usually holds a whole /64 and could otherwise take a fresh
// address for every attempt.
func clientKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

// Login checks the limits and the credentials. On ErrTooManyLogins,
// retryAfter tells when to try again.
func (g *LoginGate) Login(r *http.Request, svc auth.Service, email, password string) (pair *auth.TokenPair, retryAfter time.Duration, err error) {
	t := Tenant(r.Context())
	info := RequestInfo(r.Context())
	account := t.ID + "|" + strings.ToLower(strings.TrimSpace(email))
	limited := func(retry time.Duration) (*auth.TokenPair, time.Duration, error) {
		g.metrics.Logins.WithLabelValues(t.ID, "rate_limited").Inc()
		g.log.WarnContext(r.Context(), "login rate limited", "tenant", t.ID, "client_ip", info.ClientIP.String(),
			"request_id", info.RequestID)
		return nil, retry, ErrTooManyLogins
	}
	if ok, retry := g.perIP.Allow(clientKey(info.ClientIP)); !ok {
		return limited(retry)
	}
	// Allow counts the attempt before the password is checked, so that
	// parallel guesses cannot all slip past the limit; success resets it.
	if ok, retry := g.perAccount.Allow(account); !ok {
		return limited(retry)
	}
	select {
	case g.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, 0, r.Context().Err()
	}
	pair, err = svc.Login(r.Context(), auth.TenantRef{ID: t.UUID(), Slug: t.ID}, email, password, auth.LoginMeta{
		IP: info.ClientIP.String(), UserAgent: r.UserAgent(), RequestID: info.RequestID})
	<-g.slots
	if err != nil {
		if rpcrm.ErrorCode(err) == rpcrm.EUNAUTHORIZED {
			g.metrics.Logins.WithLabelValues(t.ID, "failure").Inc()
		}
		return nil, 0, err
	}
	g.perAccount.Reset(account)
	g.metrics.Logins.WithLabelValues(t.ID, "success").Inc()
	return pair, 0, nil
}
