package web

import (
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/crm"
)

// Hooks into the UI for the tests of package web_test.

// SetImportWait sets how long a posted dry run or import waits for its job
// before the progress page; 0 sends every post to the progress page.
func SetImportWait(u *UI, d time.Duration) { u.importWait = d }

// PutImportJob registers a dry run of upload id that does no work: running,
// with read of size bytes read, if ended is zero, else finished then with an
// empty result.
func PutImportJob(u *UI, id string, tenant, user uuid.UUID, read, size int64, ended time.Time) {
	m := &importMeta{Tenant: tenant, User: user, Entity: crm.EntityCompany, FileName: "fake.csv"}
	j := &importJob{id: id, tenant: tenant, user: user, dryRun: true, size: size, form: url.Values{},
		data: &importMapView{ID: id, Meta: m}, cancel: func() {}, done: make(chan struct{})}
	j.read.Store(read)
	if !ended.IsZero() {
		j.res = &crm.ImportResult{DryRun: true, Errors: []crm.ImportError{}}
		j.ended = ended
		close(j.done)
	}
	u.jobs.mu.Lock()
	defer u.jobs.mu.Unlock()
	if u.jobs.m == nil {
		u.jobs.m = map[string]*importJob{}
	}
	u.jobs.m[id] = j
}
