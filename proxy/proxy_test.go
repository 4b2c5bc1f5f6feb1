package proxy

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestParseTrust(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the result
		wantErr string // substring; the bad entry must be named
	}{
		{in: "", want: ""},
		{in: " , ", want: ""},
		{in: "127.0.0.1, 10.0.0.0/8, ::1", want: "127.0.0.1, 10.0.0.0/8, ::1"},
		{in: "127.0.0.1 10.0.0.0/8\n\t::1,,fd00::/8", want: "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8"},
		{in: "::ffff:192.0.2.1", want: "192.0.2.1"},
		{in: "::ffff:10.0.0.0/104", want: "10.0.0.0/8"},
		{in: "fe80::1%eth0", want: "fe80::1"},
		{in: "0.0.0.0/0, ::/0", want: "0.0.0.0/0, ::/0"},
		{in: "10.0.0.0/8, proxy.local", wantErr: `"proxy.local" is not an IP address or CIDR prefix`},
		{in: "10.0.0.0/33", wantErr: `"10.0.0.0/33"`},
		{in: "10.0.0/8", wantErr: `"10.0.0/8"`},
		{in: "10.1.2.3/8", wantErr: `"10.1.2.3/8" has host bits set; write 10.0.0.0/8`},
		{in: "127.0.0.1:8080", wantErr: `"127.0.0.1:8080"`},
		{in: "*", wantErr: `"*"`},
	}
	for _, tt := range tests {
		got, err := ParseTrust(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTrust(%q) error = %v, want one containing %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTrust(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParseTrust(%q) = %q, want %q", tt.in, got.String(), tt.want)
		}
	}
}

func mustTrust(t *testing.T, list string) Trust {
	t.Helper()
	tr, err := ParseTrust(list)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestContains(t *testing.T) {
	tr := mustTrust(t, "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8")
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.2", false},
		{"10.255.0.1", true},
		{"11.0.0.1", false},
		{"::ffff:10.1.2.3", true}, // IPv4-mapped, as on dual-stack listeners
		{"::1", true},
		{"fd12::1", true},
		{"fd12::1%eth0", true},
		{"2001:db8::1", false},
	}
	for _, tt := range tests {
		if got := tr.Contains(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if tr.Contains(netip.Addr{}) {
		t.Errorf("Contains(zero Addr) = true")
	}
	if (Trust{}).Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("zero Trust trusts 127.0.0.1")
	}
}

func TestClientIP(t *testing.T) {
	const trusted = "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8"
	tests := []struct {
		name   string
		trust  string
		remote string
		xff    []string // one element per header line
		want   string   // "" = zero Addr
	}{
		{"no proxy", trusted, "203.0.113.7:51000", nil, "203.0.113.7"},
		{"untrusted peer spoofs", trusted, "203.0.113.7:51000", []string{"1.2.3.4"}, "203.0.113.7"},
		{"untrusted peer spoofs a trusted address", trusted, "203.0.113.7:51000", []string{"10.0.0.1"}, "203.0.113.7"},
		{"trust nobody", "", "127.0.0.1:4000", []string{"198.51.100.1"}, "127.0.0.1"},
		{"trusted peer, no header", trusted, "10.0.0.2:4000", nil, "10.0.0.2"},
		{"trusted peer, one hop", trusted, "10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted peer, spoofed then real", trusted, "10.0.0.2:4000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"several trusted proxies", trusted, "127.0.0.1:4000", []string{"1.2.3.4, 198.51.100.1, 10.0.0.9, 10.0.0.8"}, "198.51.100.1"},
		{"client forges a trusted hop", trusted, "10.0.0.2:4000", []string{"10.0.0.5, 198.51.100.1"}, "198.51.100.1"},
		{"all hops trusted", trusted, "10.0.0.2:4000", []string{"10.0.0.4, 10.0.0.3"}, "10.0.0.4"},
		{"several header lines", trusted, "10.0.0.2:4000", []string{"1.2.3.4", "198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"header lines, client in earlier line", trusted, "10.0.0.2:4000", []string{"1.2.3.4, 198.51.100.1", "10.0.0.3"}, "198.51.100.1"},
		{"spaces", trusted, "10.0.0.2:4000", []string{"  1.2.3.4 ,198.51.100.1  "}, "198.51.100.1"},
		{"garbage right after peer", trusted, "10.0.0.2:4000", []string{"198.51.100.1, garbage"}, "10.0.0.2"},
		{"garbage behind trusted hop", trusted, "10.0.0.2:4000", []string{"198.51.100.1, nonsense, 10.0.0.3"}, "10.0.0.3"},
		{"garbage left of client", trusted, "10.0.0.2:4000", []string{"<script>, 198.51.100.1"}, "198.51.100.1"},
		{"unknown", trusted, "10.0.0.2:4000", []string{"unknown"}, "10.0.0.2"},
		{"empty entry", trusted, "10.0.0.2:4000", []string{"198.51.100.1,"}, "10.0.0.2"},
		{"empty header", trusted, "10.0.0.2:4000", []string{""}, "10.0.0.2"},
		{"entry with port", trusted, "10.0.0.2:4000", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		{"IPv6 peer and client", trusted, "[::1]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 chain", trusted, "[fd00::2]:4000", []string{"2001:db8::66, 2001:db8::1, fd00::3"}, "2001:db8::1"},
		{"IPv6 untrusted peer", trusted, "[2001:db8::9]:4000", []string{"2001:db8::1"}, "2001:db8::9"},
		{"IPv6 bracketed entry", trusted, "[::1]:4000", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"IPv6 bracketed entry with port", trusted, "[::1]:4000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv6 entry with zone", trusted, "[::1]:4000", []string{"fe80::1%eth0"}, "fe80::1"},
		{"IPv4-mapped peer", trusted, "[::ffff:10.0.0.2]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped untrusted peer", trusted, "[::ffff:203.0.113.7]:4000", nil, "203.0.113.7"},
		{"IPv4-mapped client", trusted, "10.0.0.2:4000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped trusted hop", trusted, "10.0.0.2:4000", []string{"198.51.100.1, ::ffff:10.0.0.3"}, "198.51.100.1"},
		{"peer without port", trusted, "198.51.100.1", nil, "198.51.100.1"},
		{"unix socket peer", trusted, "@", []string{"198.51.100.1"}, ""},
		{"empty peer", trusted, "", []string{"198.51.100.1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := mustTrust(t, tt.trust)
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := tr.ClientIP(r)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("ClientIP = %v, want %v", got, want)
			}
		})
	}
}

func TestHost(t *testing.T) {
	tr := mustTrust(t, "10.0.0.0/8")
	tests := []struct {
		name   string
		remote string
		host   string
		xfh    []string
		want   string
	}{
		{"untrusted peer ignores header", "203.0.113.7:1", "a.example.ch", []string{"evil.example.com"}, "a.example.ch"},
		{"trusted peer without header", "10.0.0.2:1", "a.example.ch", nil, "a.example.ch"},
		{"trusted peer", "10.0.0.2:1", "internal:8080", []string{"a.example.ch"}, "a.example.ch"},
		{"trusted peer, list", "10.0.0.2:1", "internal", []string{"evil.example.com, a.example.ch"}, "a.example.ch"},
		{"trusted peer, several lines", "10.0.0.2:1", "internal", []string{"evil.example.com", " A.Example.CH:443 "}, "A.Example.CH:443"},
		{"trusted peer, empty header", "10.0.0.2:1", "a.example.ch", []string{""}, "a.example.ch"},
		{"trusted peer, empty last element", "10.0.0.2:1", "a.example.ch", []string{"b.example.ch,"}, "a.example.ch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Host = tt.host
			for _, v := range tt.xfh {
				r.Header.Add("X-Forwarded-Host", v)
			}
			if got := tr.Host(r); got != tt.want {
				t.Errorf("Host = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScheme(t *testing.T) {
	tr := mustTrust(t, "10.0.0.0/8")
	tests := []struct {
		name   string
		remote string
		tls    bool
		xfp    []string
		want   string
	}{
		{"plain", "203.0.113.7:1", false, nil, "http"},
		{"TLS", "203.0.113.7:1", true, nil, "https"},
		{"TLS wins over header", "10.0.0.2:1", true, []string{"http"}, "https"},
		{"untrusted peer claims https", "203.0.113.7:1", false, []string{"https"}, "http"},
		{"trusted peer says https", "10.0.0.2:1", false, []string{"https"}, "https"},
		{"trusted peer says HTTPS", "10.0.0.2:1", false, []string{"HTTPS"}, "https"},
		{"trusted peer says http", "10.0.0.2:1", false, []string{"http"}, "http"},
		{"trusted peer, list ends in https", "10.0.0.2:1", false, []string{"http, https"}, "https"},
		{"trusted peer, list ends in http", "10.0.0.2:1", false, []string{"https, http"}, "http"},
		{"trusted peer, garbage", "10.0.0.2:1", false, []string{"httpsx"}, "http"},
		{"trusted peer, no header", "10.0.0.2:1", false, nil, "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for _, v := range tt.xfp {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			if got := tr.Scheme(r); got != tt.want {
				t.Errorf("Scheme = %q, want %q", got, tt.want)
			}
		})
	}
}
