package main

// End-to-end test of the shipped nginx configuration (deploy/nginx): a real
// nginx on loopback ports, with a self-signed certificate, in front of three
// running rpcrm servers (prod, test, dev), spoken to with real HTTPS.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/config"
)

// nginxDomain is the domain the test renders the configuration for: the
// seed's. No name is ever resolved; the test's dialer sends everything to
// the loopback ports.
const nginxDomain = "meinecrm.ch"

// nginxUploadLimit is the application's default RPCRM_MAX_UPLOAD_BYTES; the
// shipped client_max_body_size must let one such document through.
const nginxUploadLimit = 25 << 20

// nginxBinary finds nginx, or skips the test outside CI when it is missing.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed (.ci/run installs the Debian package)")
	}
	t.Skip("nginx is not installed (apt-get install nginx)")
	return ""
}

// edgeRepoPath returns an absolute path inside the repository (the test runs in cmd/rpcrm).
func edgeRepoPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// edgeSite is a rendered, rewritten nginx configuration in a directory laid
// out like /etc/nginx (nginx.conf, sites-available/, snippets/), with the
// test's certificate, logs and ACME web root next to it.
type edgeSite struct {
	t         *testing.T
	nginx     string
	dir       string
	httpAddr  string // 127.0.0.1:port in place of port 80
	httpsAddr string // 127.0.0.1:port in place of port 443
	roots     *x509.CertPool
	acmeRoot  string
	marketing string
	cmd       *exec.Cmd
	exited    chan struct{}
	stderr    syncBuffer
	errorLog  string
	accessLog string
}

// newEdgeSite renders deploy/nginx with render.sh, then points the parts
// that name this machine's paths and ports at the test's. Each replaced
// string must occur, so the test notices when the configuration changes
// shape instead of silently testing something else.
func newEdgeSite(t *testing.T, upstreams map[string]string) *edgeSite {
	t.Helper()
	e := &edgeSite{t: t, nginx: nginxBinary(t), dir: t.TempDir(), httpAddr: freeAddr(t), httpsAddr: freeAddr(t),
		marketing: edgeRepoPath(t, "marketing")}
	for _, d := range []string{"certs", "logs", "tmp", "acme/.well-known/acme-challenge"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.acmeRoot = filepath.Join(e.dir, "acme")
	e.errorLog = filepath.Join(e.dir, "logs", "error.log")
	e.roots = edgeCertificate(t, filepath.Join(e.dir, "certs"), nginxDomain, "*."+nginxDomain)

	render := exec.Command("bash", edgeRepoPath(t, "deploy/nginx/render.sh"), nginxDomain, e.dir)
	if out, err := render.CombinedOutput(); err != nil {
		t.Fatalf("render.sh: %v\n%s", err, out)
	}
	rewrite := map[string][][2]string{
		"sites-available/rpcrm-http.conf": {
			{"listen 80 default_server;", "listen " + e.httpAddr + " default_server;"},
			{"listen 80;", "listen " + e.httpAddr + ";"},
			{"/var/www/letsencrypt", e.acmeRoot},
		},
		"sites-available/rpcrm.conf": {
			{"listen 443 ssl http2 default_server;", "listen " + e.httpsAddr + " ssl http2 default_server;"},
			{"listen 443 ssl http2;", "listen " + e.httpsAddr + " ssl http2;"},
			{"/opt/rp-crm/marketing", e.marketing},
		},
		"snippets/rpcrm-tls.conf": {
			{"/etc/letsencrypt/live/" + nginxDomain + "/", filepath.Join(e.dir, "certs") + "/"},
			{"/var/log/nginx/", filepath.Join(e.dir, "logs") + "/"},
		},
		"snippets/rpcrm-app.conf": {
			{"/opt/rp-crm/marketing/", e.marketing + "/"},
		},
	}
	for from, to := range upstreams {
		rewrite["sites-available/rpcrm.conf"] = append(rewrite["sites-available/rpcrm.conf"],
			[2]string{"server 127.0.0.1:" + from + ";", "server " + to + ";"})
	}
	for file, pairs := range rewrite {
		path := filepath.Join(e.dir, file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		for _, p := range pairs {
			if !strings.Contains(s, p[0]) {
				t.Fatalf("%s no longer contains %q; update the test's rewrite table", file, p[0])
			}
			s = strings.ReplaceAll(s, p[0], p[1])
		}
		// IPv6 listeners would bind every interface; the loopback test uses IPv4 only.
		s = regexp.MustCompile(`(?m)^\s*listen \[::\]:.*\n`).ReplaceAllString(s, "")
		writeFile(t, path, s)
	}
	e.accessLog = filepath.Join(e.dir, "logs", "rpcrm.access.log")
	return e
}

// mainConf writes a main configuration that includes the given site files
// the way Debian's /etc/nginx/nginx.conf includes sites-enabled, with the
// http-level settings Debian ships (ssl_protocols, gzip on, ...), so that a
// directive of ours that collides with them fails here too.
func (e *edgeSite) mainConf(name string, sites ...string) string {
	e.t.Helper()
	var b strings.Builder
	if os.Geteuid() == 0 {
		b.WriteString("user root;\n") // the test's files are in 0700 directories
	}
	tmp := filepath.Join(e.dir, "tmp")
	fmt.Fprintf(&b, "worker_processes 1;\npid %s;\nerror_log %s;\nevents { worker_connections 256; }\nhttp {\n",
		filepath.Join(e.dir, name+".pid"), e.errorLog)
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s;\n", kind, filepath.Join(tmp, kind))
	}
	b.WriteString("    sendfile on;\n    tcp_nopush on;\n    types_hash_max_size 2048;\n" +
		"    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n" +
		"    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n    ssl_prefer_server_ciphers on;\n" +
		"    gzip on;\n")
	fmt.Fprintf(&b, "    access_log %s;\n", filepath.Join(e.dir, "logs", "access.log"))
	for _, s := range sites {
		fmt.Fprintf(&b, "    include %s;\n", filepath.Join(e.dir, "sites-available", s))
	}
	b.WriteString("}\n")
	path := filepath.Join(e.dir, name)
	writeFile(e.t, path, b.String())
	return path
}

// check runs `nginx -t` on a main configuration and fails the test on any
// error or warning.
func (e *edgeSite) check(conf string) {
	e.t.Helper()
	out, err := exec.Command(e.nginx, "-t", "-q", "-p", e.dir+"/", "-e", "stderr", "-c", conf).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		e.t.Errorf("nginx -t -c %s: %v\n%s", conf, err, out)
	}
}

// debianConf is the machine's own /etc/nginx/nginx.conf with its
// sites-enabled include pointed at the rendered files, and its pid and log
// files at the test's directory; "" if there is none.
func (e *edgeSite) debianConf() string {
	e.t.Helper()
	data, err := os.ReadFile("/etc/nginx/nginx.conf")
	if err != nil {
		return ""
	}
	s := string(data)
	for _, p := range [][2]string{
		{"include /etc/nginx/sites-enabled/*;", "include " + filepath.Join(e.dir, "sites-available", "*.conf") + ";"},
		{"pid /run/nginx.pid;", "pid " + filepath.Join(e.dir, "debian.pid") + ";"},
	} {
		if !strings.Contains(s, p[0]) {
			e.t.Errorf("/etc/nginx/nginx.conf has no %q", p[0])
			return ""
		}
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	s = strings.ReplaceAll(s, "/var/log/nginx/", filepath.Join(e.dir, "logs")+"/")
	path := filepath.Join(e.dir, "debian-nginx.conf")
	writeFile(e.t, path, s)
	return path
}

// start runs nginx in the foreground with conf until the test ends.
func (e *edgeSite) start(conf string) {
	e.t.Helper()
	e.cmd = exec.Command(e.nginx, "-p", e.dir+"/", "-e", e.errorLog, "-c", conf, "-g", "daemon off;")
	e.cmd.Stdout, e.cmd.Stderr = &e.stderr, &e.stderr
	e.cmd.WaitDelay = 5 * time.Second
	if err := e.cmd.Start(); err != nil {
		e.t.Fatalf("start nginx: %v", err)
	}
	e.exited = make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(e.exited) }()
	e.t.Cleanup(func() {
		_ = e.cmd.Process.Signal(syscall.SIGQUIT) // graceful: workers finish, then exit
		select {
		case <-e.exited:
		case <-time.After(10 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.exited
		}
		if e.t.Failed() {
			log, _ := os.ReadFile(e.errorLog)
			e.t.Logf("nginx output:\n%s\nerror.log:\n%s", e.stderr.String(), log)
		}
	})
	ok := pollUntil(10*time.Second, func() bool {
		select {
		case <-e.exited:
			return true
		default:
		}
		c, err := net.DialTimeout("tcp", e.httpsAddr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	select {
	case <-e.exited:
		log, _ := os.ReadFile(e.errorLog)
		e.t.Fatalf("nginx exited at start:\n%s\n%s", e.stderr.String(), log)
	default:
	}
	if !ok {
		e.t.Fatal("nginx does not listen after 10 s")
	}
}

// client returns an HTTP client that connects from the loopback address
// local (so that each check has its own rate-limit bucket and a client
// address distinct from the proxy's 127.0.0.1), sends https://…:443 to the
// test's HTTPS port and http://…:80 to its HTTP port, trusts the test's
// certificate and does not follow redirects.
func (e *edgeSite) client(local string, h2 bool, tlsMax uint16) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			target := e.httpAddr
			if _, port, _ := net.SplitHostPort(addr); port == "443" {
				target = e.httpsAddr
			}
			return d.DialContext(ctx, "tcp", target)
		},
		TLSClientConfig:       &tls.Config{RootCAs: e.roots, MinVersion: tls.VersionTLS10, MaxVersion: tlsMax},
		ForceAttemptHTTP2:     h2,
		ExpectContinueTimeout: 2 * time.Second,
	}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// edgeResponse is a response with its body read.
type edgeResponse struct {
	*http.Response
	body string
}

// edgeDo sends one request; header holds extra headers, body may be nil.
func edgeDo(t *testing.T, c *http.Client, method, url string, header http.Header, body io.Reader) (*edgeResponse, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if h := header.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &edgeResponse{Response: resp, body: string(data)}, nil
}

// edgeMustDo is edgeDo that fails the test on a transport error.
func edgeMustDo(t *testing.T, c *http.Client, method, url string, header http.Header, body io.Reader) *edgeResponse {
	t.Helper()
	r, err := edgeDo(t, c, method, url, header, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

// edgeCertificate writes fullchain.pem and privkey.pem (as certbot
// names them) for a self-signed certificate for names, and returns a pool
// that trusts it.
func edgeCertificate(t *testing.T, dir string, names ...string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"RP CRM test"}},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "fullchain.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, "privkey.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// edgeTenants is a tenants.json with one tenant per id, each on the host
// given after it.
func edgeTenants(idHost ...string) string {
	var b strings.Builder
	b.WriteString(`{"tenants": [`)
	for i := 0; i+1 < len(idHost); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": %q, "name": "Firma %s", "hosts": [%q]}`, idHost[i], idHost[i], idHost[i+1])
	}
	b.WriteString("]}\n")
	return b.String()
}

// TestE2ENginxConfigValid runs nginx -t on every file render.sh writes, in
// each stage of the installation, and checks what render.sh refuses.
func TestE2ENginxConfigValid(t *testing.T) {
	t.Parallel()
	e := newEdgeSite(t, map[string]string{"5000": "127.0.0.1:5000", "5100": "127.0.0.1:5100", "5200": "127.0.0.1:5200"})
	// Before the first certificate exists, only the HTTP site is enabled
	// (certbot's webroot challenge runs through it).
	if err := os.Remove(filepath.Join(e.dir, "certs", "fullchain.pem")); err != nil {
		t.Fatal(err)
	}
	e.check(e.mainConf("http-only.conf", "rpcrm-http.conf"))
	e.roots = edgeCertificate(t, filepath.Join(e.dir, "certs"), nginxDomain, "*."+nginxDomain)
	e.check(e.mainConf("full.conf", "rpcrm-http.conf", "rpcrm.conf"))
	if conf := e.debianConf(); conf != "" {
		e.check(conf)
	} else if os.Getenv("CI") == "true" {
		t.Error("no /etc/nginx/nginx.conf to check the site files against")
	}
	// The rendered files name the domain and nothing is left to render.
	for _, f := range []string{"sites-available/rpcrm.conf", "snippets/rpcrm-tls.conf"} {
		data, err := os.ReadFile(filepath.Join(e.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), nginxDomain) || strings.Contains(string(data), "@DOMAIN") {
			t.Errorf("%s is not rendered for %s", f, nginxDomain)
		}
	}
	// nginx lets through exactly the largest body the application takes:
	// its default upload limit plus the 64 KiB of multipart framing.
	for _, st := range config.Settings() {
		if st.Name == "RPCRM_MAX_UPLOAD_BYTES" && st.Default != strconv.Itoa(nginxUploadLimit) {
			t.Errorf("RPCRM_MAX_UPLOAD_BYTES defaults to %s, the test (and docs/nginx.md) to %d", st.Default, nginxUploadLimit)
		}
	}
	app, err := os.ReadFile(filepath.Join(e.dir, "snippets", "rpcrm-app.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("client_max_body_size %dk;", (nginxUploadLimit+64<<10)>>10)
	if !strings.Contains(string(app), "\n"+want+"\n") {
		t.Errorf("snippets/rpcrm-app.conf does not set %q", want)
	}
	// A bad domain is refused before anything is written.
	out, err := exec.Command("bash", edgeRepoPath(t, "deploy/nginx/render.sh"), "evil.ch;}", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is not a lower-case domain name") {
		t.Errorf("render.sh with a bad domain: %v %s", err, out)
	}
}

// TestE2ENginx runs nginx with the shipped configuration in front of three
// rpcrm servers and checks, over real HTTPS, what the configuration promises.
func TestE2ENginx(t *testing.T) {
	t.Parallel()
	nginxBinary(t)

	// prod serves alpha and beta; test and dev one tenant each on their
	// hosts. All three share one database (each tenant is its own anyway).
	f := newFixture(t, true)
	writeFile(t, f.tenants, edgeTenants("alpha", "alpha."+nginxDomain, "beta", "beta."+nginxDomain))
	f.migrate()
	f.createUser("alpha", "admin@alpha.ch", "Anna Alpha", "admin", pwAdmin)
	f.createUser("beta", "admin@beta.ch", "Beat Beta", "admin", pwAdmin)
	envs := map[string]map[string]string{"prod": f.envWith("RPCRM_TRUSTED_PROXIES", "127.0.0.1")}
	addrs := map[string]string{"prod": f.addr}
	for _, env := range []string{"test", "dev"} {
		file := filepath.Join(f.dir, env+"-tenants.json")
		writeFile(t, file, edgeTenants(env+"mandant", env+"."+nginxDomain))
		addrs[env] = freeAddr(t)
		envs[env] = f.envWith("RPCRM_TRUSTED_PROXIES", "127.0.0.1", "RPCRM_TENANTS_FILE", file,
			"RPCRM_DATA_DIR", filepath.Join(f.dir, env+"-data"), "RPCRM_LISTEN", addrs[env], "RPCRM_MIGRATE_ON_START", "false")
	}
	apps := map[string]*proc{}
	for _, env := range []string{"prod", "test", "dev"} {
		apps[env] = f.start(envs[env], "serve")
	}
	for env, p := range apps {
		p.waitReady("http://" + addrs[env])
	}

	e := newEdgeSite(t, map[string]string{"5000": addrs["prod"], "5100": addrs["test"], "5200": addrs["dev"]})
	e.start(e.mainConf("nginx.conf", "rpcrm-http.conf", "rpcrm.conf"))

	https := func(host, path string) string { return "https://" + host + "." + nginxDomain + path }
	apex := "https://" + nginxDomain
	// Each part of the test speaks from its own loopback address, so that
	// the rate limits of one do not spill into another.
	next := 20
	newClient := func() (*http.Client, string) {
		next++
		ip := fmt.Sprintf("127.0.0.%d", next)
		return e.client(ip, false, 0), ip
	}

	t.Run("host routing", func(t *testing.T) {
		c, ip := newClient()
		// Unauthenticated /api/v1/me: 401 where the answering app knows the
		// host, its neutral 404 where not. Each app knows only its own hosts.
		for host, want := range map[string]int{"alpha": 401, "beta": 401, "test": 401, "dev": 401, "gamma": 404} {
			r := edgeMustDo(t, c, "GET", https(host, "/api/v1/me"), nil, nil)
			if r.StatusCode != want {
				t.Errorf("GET %s: %d, want %d: %s", https(host, "/api/v1/me"), r.StatusCode, want, r.body)
			}
		}
		for _, tenant := range []string{"alpha", "beta"} {
			token := edgeLogin(t, c, https(tenant, ""), "admin@"+tenant+".ch")
			r := edgeMustDo(t, c, "GET", https(tenant, "/api/v1/me"), http.Header{"Authorization": {"Bearer " + token}}, nil)
			var m meInfo
			if err := json.Unmarshal([]byte(r.body), &m); err != nil || r.StatusCode != 200 || m.Tenant.ID != tenant {
				t.Errorf("GET /api/v1/me at %s: %d %s", tenant, r.StatusCode, r.body)
			}
		}
		// The test and dev hosts reach their own apps: login page of their tenant.
		for _, env := range []string{"test", "dev"} {
			r := edgeMustDo(t, c, "GET", https(env, "/login"), nil, nil)
			if r.StatusCode != 200 || !strings.Contains(r.body, "Firma "+env+"mandant") {
				t.Errorf("GET %s: %d, want the login page of %smandant", https(env, "/login"), r.StatusCode, env)
			}
		}
		// The app sees https (X-Forwarded-Proto): its login cookie is Secure.
		r := edgeMustDo(t, c, "GET", https("alpha", "/login"), nil, nil)
		if r.StatusCode != 200 || len(r.Cookies()) == 0 {
			t.Fatalf("GET /login at alpha: %d, cookies %v", r.StatusCode, r.Cookies())
		}
		for _, ck := range r.Cookies() {
			if !ck.Secure {
				t.Errorf("cookie %s is not Secure", ck.Name)
			}
		}
		// HTTP/2 is offered.
		if r := edgeMustDo(t, e.client(ip, true, 0), "GET", https("alpha", "/healthz"), nil, nil); r.Proto != "HTTP/2.0" || r.StatusCode != 200 {
			t.Errorf("HTTP/2 request: %s %d", r.Proto, r.StatusCode)
		}
		// Prometheus reads the app directly, never through nginx.
		if r := edgeMustDo(t, c, "GET", https("alpha", "/metrics"), nil, nil); r.StatusCode != 404 || strings.Contains(r.body, "rpcrm_") {
			t.Errorf("GET /metrics through nginx: %d %.100s", r.StatusCode, r.body)
		}
	})

	t.Run("marketing page", func(t *testing.T) {
		c, _ := newClient()
		for _, u := range []string{apex + "/", "https://www." + nginxDomain + "/"} {
			r := edgeMustDo(t, c, "GET", u, nil, nil)
			if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(r.body, `action="/anmelden"`) || !strings.Contains(r.body, `lang="de-CH"`) {
				t.Errorf("GET %s: %d %s %.200s", u, r.StatusCode, r.Header.Get("Content-Type"), r.body)
			}
			csp := r.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") ||
				!strings.Contains(csp, "form-action 'self' https://*."+nginxDomain) {
				t.Errorf("GET %s: CSP %q", u, csp)
			}
		}
		if r := edgeMustDo(t, c, "GET", apex+"/en/", nil, nil); r.StatusCode != 200 || !strings.Contains(r.body, `action="/en/login"`) {
			t.Errorf("GET /en/: %d", r.StatusCode)
		}
		if r := edgeMustDo(t, c, "GET", apex+"/gibt-es-nicht", nil, nil); r.StatusCode != 404 || !strings.Contains(r.body, "Diese Seite gibt es nicht") {
			t.Errorf("GET /gibt-es-nicht: %d %.200s", r.StatusCode, r.body)
		}
		// Every file the pages refer to is there.
		for _, p := range []string{"/style.css", "/favicon.svg", "/anmelden-fehler.html", "/en/login-error.html", "/robots.txt"} {
			if r := edgeMustDo(t, c, "GET", apex+p, nil, nil); r.StatusCode != 200 {
				t.Errorf("GET %s: %d", p, r.StatusCode)
			}
		}
	})

	t.Run("login field redirects only to tenant hosts", func(t *testing.T) {
		c, _ := newClient()
		good := map[string]string{
			"alpha":                 "https://alpha." + nginxDomain + "/login",
			"+mandant-2+":           "https://mandant-2." + nginxDomain + "/login",
			"%20Alpha%20":           "https://Alpha." + nginxDomain + "/login",
			"x":                     "https://x." + nginxDomain + "/login",
			"alpha&firma=evil.com":  "https://alpha." + nginxDomain + "/login", // the first value counts
			strings.Repeat("a", 63): "https://" + strings.Repeat("a", 63) + "." + nginxDomain + "/login",
		}
		for in, want := range good {
			r := edgeMustDo(t, c, "GET", apex+"/anmelden?firma="+in, nil, nil)
			if r.StatusCode != 303 || r.Header.Get("Location") != want {
				t.Errorf("/anmelden?firma=%s: %d %q, want 303 %q", in, r.StatusCode, r.Header.Get("Location"), want)
			}
		}
		if r := edgeMustDo(t, c, "GET", apex+"/en/login?firma=beta", nil, nil); r.StatusCode != 303 || r.Header.Get("Location") != "https://beta."+nginxDomain+"/login" {
			t.Errorf("/en/login?firma=beta: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		bad := []string{"", "evil.com", "alpha.meinecrm.ch", "a.b", "-alpha", "alpha-", "alpha%2F", "%2F%2Fevil.com",
			"alpha%0d%0aSet-Cookie:%20x=1", "alpha@evil.com", "alpha:443", "%E2%80%AEalpha", "alpha%00", "al+pha",
			strings.Repeat("a", 64)}
		for _, in := range bad {
			r := edgeMustDo(t, c, "GET", apex+"/anmelden?firma="+in, nil, nil)
			if r.StatusCode != 303 || r.Header.Get("Location") != "/anmelden-fehler.html" {
				t.Errorf("/anmelden?firma=%s: %d %q, want 303 to the error page", in, r.StatusCode, r.Header.Get("Location"))
			}
		}
		if r := edgeMustDo(t, c, "GET", apex+"/anmelden", nil, nil); r.Header.Get("Location") != "/anmelden-fehler.html" {
			t.Errorf("/anmelden without firma: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := edgeMustDo(t, c, "GET", apex+"/en/login?firma=evil.com", nil, nil); r.Header.Get("Location") != "/en/login-error.html" {
			t.Errorf("/en/login?firma=evil.com: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		// The redirect lands on the tenant's login page.
		if r := edgeMustDo(t, c, "GET", https("alpha", "/login"), nil, nil); r.StatusCode != 200 || !strings.Contains(r.body, "Firma alpha") {
			t.Errorf("GET https://alpha…/login: %d", r.StatusCode)
		}
	})

	t.Run("unknown host refused", func(t *testing.T) {
		c, ip := newClient()
		// Unknown SNI, a name two levels down, no SNI at all: no handshake.
		for _, u := range []string{"https://evil.example/", "https://a.b." + nginxDomain + "/", "https://127.0.0.1/"} {
			r, err := edgeDo(t, c, "GET", u, nil, nil)
			if err == nil {
				t.Errorf("GET %s: %d, want the TLS handshake refused", u, r.StatusCode)
			} else if !strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "remote error") {
				t.Errorf("GET %s: %v, want a TLS alert", u, err)
			}
		}
		// A tenant's SNI with somebody else's Host: 421, nothing proxied.
		r := edgeMustDo(t, c, "GET", https("alpha", "/login"), http.Header{"Host": {"evil.example"}}, nil)
		if r.StatusCode != 421 {
			t.Errorf("SNI alpha, Host evil.example: %d, want 421", r.StatusCode)
		}
		// Plain HTTP for another host: the connection is closed unanswered.
		if r, err := edgeDo(t, c, "GET", "http://evil.example/", nil, nil); err == nil {
			t.Errorf("GET http://evil.example/: %d, want the connection closed", r.StatusCode)
		}
		// TLS 1.1 is refused.
		if r, err := edgeDo(t, e.client(ip, false, tls.VersionTLS11), "GET", https("alpha", "/healthz"), nil, nil); err == nil {
			t.Errorf("TLS 1.1: %d, want the handshake refused", r.StatusCode)
		}
	})

	t.Run("http redirects to https", func(t *testing.T) {
		c, _ := newClient()
		for in, want := range map[string]string{
			"http://alpha." + nginxDomain + "/login?next=%2F": "https://alpha." + nginxDomain + "/login?next=%2F",
			"http://" + nginxDomain + "/":                     "https://" + nginxDomain + "/",
			"http://www." + nginxDomain + "/en/":              "https://www." + nginxDomain + "/en/",
			"http://test." + nginxDomain + "/api/v1/me":       "https://test." + nginxDomain + "/api/v1/me",
		} {
			r := edgeMustDo(t, c, "GET", in, nil, nil)
			if r.StatusCode != 301 || r.Header.Get("Location") != want {
				t.Errorf("GET %s: %d %q, want 301 %q", in, r.StatusCode, r.Header.Get("Location"), want)
			}
		}
		// Let's Encrypt's HTTP-01 challenge is answered from the web root.
		writeFile(t, filepath.Join(e.acmeRoot, ".well-known/acme-challenge/tok-123"), "tok-123.key\n")
		r := edgeMustDo(t, c, "GET", "http://alpha."+nginxDomain+"/.well-known/acme-challenge/tok-123", nil, nil)
		if r.StatusCode != 200 || r.body != "tok-123.key\n" {
			t.Errorf("ACME challenge: %d %q", r.StatusCode, r.body)
		}
	})

	t.Run("security headers and gzip", func(t *testing.T) {
		c, _ := newClient()
		once := map[string]string{
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
			"X-Content-Type-Options":    "nosniff",
			"X-Frame-Options":           "DENY",
			"Referrer-Policy":           "same-origin",
		}
		gz := http.Header{"Accept-Encoding": {"gzip"}}
		for _, u := range []string{https("alpha", "/login"), https("alpha", "/api/v1/me"), https("gamma", "/"),
			apex + "/", https("alpha", "/static/app.css")} {
			r := edgeMustDo(t, c, "GET", u, gz, nil)
			for k, v := range once {
				if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("GET %s: %s %q, want exactly %q", u, k, got, v)
				}
			}
			if got := r.Header.Values("Content-Security-Policy"); len(got) != 1 {
				t.Errorf("GET %s: %d Content-Security-Policy headers", u, len(got))
			}
			if s := r.Header.Get("Server"); s != "nginx" {
				t.Errorf("GET %s: Server %q, want nginx without a version", u, s)
			}
		}
		for _, u := range []string{https("alpha", "/static/app.css"), apex + "/style.css", apex + "/"} {
			r := edgeMustDo(t, c, "GET", u, gz, nil)
			if r.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("GET %s with Accept-Encoding gzip: Content-Encoding %q, Vary %q", u,
					r.Header.Get("Content-Encoding"), r.Header.Get("Vary"))
			}
		}
	})

	t.Run("client address", func(t *testing.T) {
		c, ip := newClient()
		// A forged X-Forwarded-For and request ID from the client count for
		// nothing: the app logs the address nginx saw, and the
		// request ID nginx gave the request.
		r := edgeMustDo(t, c, "GET", https("alpha", "/api/v1/me"), http.Header{
			"X-Forwarded-For": {"203.0.113.9"}, "X-Request-Id": {"forged-id"}, "X-Forwarded-Host": {"beta." + nginxDomain}}, nil)
		id := r.Header.Get("X-Request-ID")
		if r.StatusCode != 401 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
			t.Fatalf("GET /api/v1/me: %d, X-Request-ID %q, want 401 with nginx's request ID", r.StatusCode, id)
		}
		var entry map[string]any
		if !pollUntil(5*time.Second, func() bool { entry = edgeLogEntry(apps["prod"], id); return entry != nil }) {
			t.Fatalf("no app log entry with request_id %s", id)
		}
		if entry["client_ip"] != ip || entry["tenant"] != "alpha" {
			t.Errorf("app log: client_ip %v, tenant %v; want %s, alpha", entry["client_ip"], entry["tenant"], ip)
		}
		// nginx's access log has the same request ID.
		if !pollUntil(5*time.Second, func() bool {
			data, _ := os.ReadFile(e.accessLog)
			return strings.Contains(string(data), "id="+id)
		}) {
			t.Errorf("nginx access log has no id=%s", id)
		}
	})

	t.Run("rate limits answer 429", func(t *testing.T) {
		c, _ := newClient()
		// Login: 30 a minute, burst 10, per client address. The 12th
		// immediate attempt is over; 40 attempts bound the test.
		lc, _ := newClient()
		first := edgeFirst429(t, lc, "POST", https("alpha", "/api/v1/auth/login"), `{}`, 40)
		if first < 5 || first > 15 {
			t.Errorf("login: first 429 at attempt %d, want about 12", first)
		}
		r := edgeMustDo(t, lc, "POST", https("alpha", "/api/v1/auth/login"), http.Header{"Content-Type": {"application/json"}}, strings.NewReader("{}"))
		var p map[string]any
		if r.StatusCode != 429 || r.Header.Get("Content-Type") != "application/problem+json" ||
			json.Unmarshal([]byte(r.body), &p) != nil || p["code"] != "rate_limited" || r.Header.Get("Retry-After") == "" ||
			r.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("login over the limit: %d %s %v %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header, r.body)
		}
		// Another address is not affected.
		if r := edgeMustDo(t, c, "POST", https("alpha", "/api/v1/auth/login"), http.Header{"Content-Type": {"application/json"}}, strings.NewReader("{}")); r.StatusCode == 429 {
			t.Errorf("login from another address: 429")
		}
		// The web login form shares the login bucket and gets a page.
		wc, _ := newClient()
		if first := edgeFirst429(t, wc, "GET", https("alpha", "/login"), "", 40); first < 5 || first > 15 {
			t.Errorf("web login: first 429 at attempt %d", first)
		}
		r = edgeMustDo(t, wc, "GET", https("alpha", "/login"), nil, nil)
		if r.StatusCode != 429 || !strings.Contains(r.body, "Zu viele Anfragen") || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("web login over the limit: %d %.200s", r.StatusCode, r.body)
		}
		// API: 20 a second, burst 100; 400 quick requests bound the test.
		ac, _ := newClient()
		apiFirst := edgeFirst429(t, ac, "GET", https("alpha", "/api/v1/me"), "", 400)
		if apiFirst < 90 {
			t.Errorf("API: first 429 at request %d, want after the burst of 100", apiFirst)
		}
		t.Logf("first 429: login attempt %d, API request %d", first, apiFirst)
	})

	t.Run("upload size", func(t *testing.T) {
		c, _ := newClient()
		token := edgeLogin(t, c, https("alpha", ""), "admin@alpha.ch")
		auth := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
		r := edgeMustDo(t, c, "POST", https("alpha", "/api/v1/companies"), auth, strings.NewReader(`{"name":"Upload AG"}`))
		var company struct{ ID string }
		if r.StatusCode != 201 || json.Unmarshal([]byte(r.body), &company) != nil {
			t.Fatalf("create company: %d %s", r.StatusCode, r.body)
		}
		upload := func(size int64) *edgeResponse {
			t.Helper()
			body, ct, n := edgeMultipartUpload(t, company.ID, size)
			req, err := http.NewRequest("POST", https("alpha", "/api/v1/documents"), body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = n
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("upload of %d bytes: %v", size, err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			return &edgeResponse{Response: resp, body: string(data)}
		}
		// Exactly the app's limit passes nginx and is stored.
		if r := upload(nginxUploadLimit); r.StatusCode != 201 {
			t.Errorf("upload of exactly %d bytes: %d %.300s", nginxUploadLimit, r.StatusCode, r.body)
		}
		// One byte more passes nginx (the body limit allows the multipart
		// framing) and the app refuses the file.
		if r := upload(nginxUploadLimit + 1); r.StatusCode != 413 || !strings.Contains(r.body, "Datei zu gross (höchstens 25 MB)") {
			t.Errorf("upload of limit+1 bytes: %d %.300s, want the app's 413", r.StatusCode, r.body)
		}
		// A body over nginx's limit never reaches the app.
		r = upload(nginxUploadLimit + 1<<20)
		if r.StatusCode != 413 || r.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.body, "Die Anfrage ist grösser als erlaubt") {
			t.Errorf("upload of limit+1 MiB: %d %s %.300s, want nginx's 413", r.StatusCode, r.Header.Get("Content-Type"), r.body)
		}
	})

	t.Run("app down", func(t *testing.T) {
		c, _ := newClient()
		apps["dev"].signal(syscall.SIGTERM)
		apps["dev"].wait(20 * time.Second)
		r := edgeMustDo(t, c, "GET", https("dev", "/api/v1/me"), nil, nil)
		if r.StatusCode != 503 || r.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.body, `"code":"unavailable"`) {
			t.Errorf("API with the app down: %d %s %.200s", r.StatusCode, r.Header.Get("Content-Type"), r.body)
		}
		r = edgeMustDo(t, c, "GET", https("dev", "/"), nil, nil)
		if r.StatusCode != 503 || !strings.Contains(r.body, "Gleich wieder da") {
			t.Errorf("page with the app down: %d %.200s", r.StatusCode, r.body)
		}
		if r := edgeMustDo(t, c, "GET", https("dev", "/_rpcrm/style.css"), nil, nil); r.StatusCode != 200 {
			t.Errorf("error page stylesheet: %d", r.StatusCode)
		}
	})

	t.Run("websocket upgrade", func(t *testing.T) {
		// The application has no WebSocket yet; a stand-in takes the dev
		// app's port (free since the previous part) and echoes after a 101.
		_, ip := newClient()
		seen := edgeUpgradeEcho(t, addrs["dev"])
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", e.httpsAddr, &tls.Config{RootCAs: e.roots,
			ServerName: "dev." + nginxDomain, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: dev.%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", nginxDomain)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade through nginx: %v %v", resp, err)
		}
		// Both directions work, also after a quiet moment.
		for _, msg := range []string{"hallo\n", "noch da?\n"} {
			if _, err := io.WriteString(conn, msg); err != nil {
				t.Fatal(err)
			}
			if got, err := br.ReadString('\n'); err != nil || got != msg {
				t.Fatalf("echo through the upgraded connection: %q %v", got, err)
			}
			time.Sleep(1500 * time.Millisecond)
		}
		h := <-seen
		if h.Get("Upgrade") != "websocket" || !strings.EqualFold(h.Get("Connection"), "upgrade") || h.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("the app saw Upgrade %q, Connection %q, X-Forwarded-Proto %q", h.Get("Upgrade"), h.Get("Connection"), h.Get("X-Forwarded-Proto"))
		}
	})
}

// edgeUpgradeEcho listens on addr, answers the first request with 101
// Switching Protocols and then echoes everything; the request's headers
// are sent on the returned channel.
func edgeUpgradeEcho(t *testing.T, addr string) <-chan http.Header {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	seen := make(chan http.Header, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		seen <- req.Header
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_, _ = io.Copy(conn, br)
	}()
	return seen
}

// edgeLogin logs in through nginx and returns the access token.
func edgeLogin(t *testing.T, c *http.Client, base, email string) string {
	t.Helper()
	r := edgeMustDo(t, c, "POST", base+"/api/v1/auth/login", http.Header{"Content-Type": {"application/json"}},
		strings.NewReader(loginBody(email, pwAdmin)))
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	if r.StatusCode != 200 || json.Unmarshal([]byte(r.body), &pair) != nil || pair.AccessToken == "" {
		t.Fatalf("login %s at %s: %d %s", email, base, r.StatusCode, r.body)
	}
	return pair.AccessToken
}

// edgeFirst429 sends up to max requests as fast as it can and returns the
// number (from 1) of the first one answered 429; it fails the test if none is.
func edgeFirst429(t *testing.T, c *http.Client, method, url, body string, max int) int {
	t.Helper()
	for i := 1; i <= max; i++ {
		var rd io.Reader
		h := http.Header{}
		if body != "" {
			rd = strings.NewReader(body)
			h.Set("Content-Type", "application/json")
		}
		r := edgeMustDo(t, c, method, url, h, rd)
		if r.StatusCode == 429 {
			return i
		}
		if r.StatusCode >= 500 {
			t.Fatalf("%s %s: %d %s", method, url, r.StatusCode, r.body)
		}
	}
	t.Fatalf("%s %s: no 429 after %d requests", method, url, max)
	return 0
}

// edgeLogEntry returns the app's JSON log entry of the request with id.
func edgeLogEntry(p *proc, id string) map[string]any {
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String() + p.stdout.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["request_id"] == id && m["msg"] == "request" {
			return m
		}
	}
	return nil
}

// edgeMultipartUpload streams a multipart/form-data body with company_id and a
// file of size zero bytes, and returns it with its content type and length.
func edgeMultipartUpload(t *testing.T, companyID string, size int64) (io.Reader, string, int64) {
	t.Helper()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := mw.WriteField("company_id", companyID); err != nil {
		t.Fatal(err)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="gross.bin"`)
	h.Set("Content-Type", "application/octet-stream")
	if _, err := mw.CreatePart(h); err != nil {
		t.Fatal(err)
	}
	headBytes := append([]byte(nil), head.Bytes()...)
	head.Reset()
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	tail := head.String() // the closing boundary
	body := io.MultiReader(bytes.NewReader(headBytes), io.LimitReader(edgeZeros{}, size), strings.NewReader(tail))
	return body, mw.FormDataContentType(), int64(len(headBytes)) + size + int64(len(tail))
}

type edgeZeros struct{}

func (edgeZeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestMarketingPages checks the static pages nginx serves on the apex and
// for its own errors: no inline script or style (the CSP forbids both), a
// language, a viewport and a title on every page, a label for every input,
// and every local link, image and stylesheet present.
func TestMarketingPages(t *testing.T) {
	t.Parallel()
	root := edgeRepoPath(t, "marketing")
	forbidden := regexp.MustCompile(`(?i)<script|<style|\sstyle=|\son[a-z]+=|javascript:`)
	local := regexp.MustCompile(`(?:href|src|action)="(/[^"]*)"`)
	inputID := regexp.MustCompile(`<input id="([^"]+)"`)
	formRoutes := map[string]bool{"/anmelden": true, "/en/login": true} // nginx answers these
	pages := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		pages++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		page, rel := string(data), strings.TrimPrefix(path, root)
		if m := forbidden.FindString(page); m != "" {
			t.Errorf("%s: %q — no inline script or style", rel, m)
		}
		for _, want := range []string{`<html lang="`, `<meta name="viewport"`, `<title>`, `<meta charset="utf-8">`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: no %s", rel, want)
			}
		}
		for _, m := range inputID.FindAllStringSubmatch(page, -1) {
			if !strings.Contains(page, `<label for="`+m[1]+`"`) {
				t.Errorf("%s: input %s has no label", rel, m[1])
			}
		}
		for _, m := range local.FindAllStringSubmatch(page, -1) {
			target := m[1]
			if formRoutes[target] {
				continue
			}
			if rest, ok := strings.CutPrefix(target, "/_rpcrm/"); ok { // alias of marketing/fehler/ on the app hosts
				target = "/fehler/" + rest
			}
			if strings.HasSuffix(target, "/") {
				target += "index.html"
			}
			if _, err := os.Stat(filepath.Join(root, target)); err != nil {
				t.Errorf("%s: %s does not exist", rel, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages < 8 {
		t.Errorf("found %d pages under marketing/, want at least 8", pages)
	}
}
