package testfix

import (
	"context"
	"testing"

	"github.com/rpcrm/rpcrm/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestFixtureLogin(t *testing.T) {
	e := New(t)
	e.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	pair := e.Login(t, "alpha", "anna@alpha.test")
	p, err := e.Auth.Authenticate(context.Background(), e.Ref(t, "alpha"), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "anna@alpha.test" || !p.Grants.Has("users:manage") {
		t.Fatalf("principal = %+v", p)
	}
}
