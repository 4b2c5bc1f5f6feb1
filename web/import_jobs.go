package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// The dry run and the import of the wizard run in the background as import
// jobs, one per upload at a time, so that a large file shows its progress
// instead of a request that hangs. The post waits up to importWait for its
// job: a small file's result comes at once, as an answer to the post; for a
// larger one the browser goes to /import/{id}/progress, which refreshes
// itself (htmx polls it, without JavaScript a meta refresh reloads it) until
// the job has finished and the same URL shows the result.

const (
	// importJobTimeout bounds one job, as the write deadline did when the
	// import ran in the request.
	importJobTimeout = 10 * time.Minute
	// importJobKeep is how long a finished job's result stays available at
	// its progress URL.
	importJobKeep = 15 * time.Minute
	// importWaitDefault is how long a post waits for its job before it
	// sends the browser to the progress page.
	importWaitDefault = time.Second
	// importRefreshSeconds is the meta refresh of the progress page without
	// JavaScript.
	importRefreshSeconds = 2
)

// importJob is one dry run or import running in the background.
type importJob struct {
	id     string // the upload's
	tenant uuid.UUID
	user   uuid.UUID
	dryRun bool
	size   int64        // of the file
	read   atomic.Int64 // bytes of the file the import has read so far
	// form is the posted form (mapping and options) and data the mapping
	// step's view of the upload: what the result page is rendered from.
	form   url.Values
	data   *importMapView
	cancel context.CancelFunc
	done   chan struct{} // closed when res and err are set

	res *crm.ImportResult
	err error
	// ended is when the job finished (zero while it runs); guarded by the
	// registry's mutex.
	ended time.Time
}

func (j *importJob) finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the job to finish and reports whether it has; it
// does not wait at all, and reports false, for d <= 0.
func (j *importJob) wait(d time.Duration) bool {
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-j.done:
		return true
	case <-t.C:
		return false
	}
}

// percent is the share of the file read, at most 99 while the job runs (the
// last rows are written after the file has been read to its end).
func (j *importJob) percent() int {
	if j.size <= 0 {
		return 0
	}
	return int(min(j.read.Load()*100/j.size, 99))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// importJobs is the UI's registry of import jobs by upload id. Finished jobs
// are dropped importJobKeep after their end, whenever the registry is used.
type importJobs struct {
	mu sync.Mutex
	m  map[string]*importJob
}

// pruneLocked drops the jobs that finished more than importJobKeep ago.
func (js *importJobs) pruneLocked() {
	for id, j := range js.m {
		if !j.ended.IsZero() && time.Since(j.ended) > importJobKeep {
			delete(js.m, id)
		}
	}
}

// get returns the job of upload id if it is the user's, else nil.
func (js *importJobs) get(p *auth.Principal, id string) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.pruneLocked()
	j := js.m[id]
	if j == nil || j.tenant != p.TenantID || j.user != p.UserID {
		return nil
	}
	return j
}

// add registers j, unless a job of the same upload still runs: then it
// returns that one and false.
func (js *importJobs) add(j *importJob) (*importJob, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.pruneLocked()
	if cur := js.m[j.id]; cur != nil && !cur.finished() {
		return cur, false
	}
	if js.m == nil {
		js.m = map[string]*importJob{}
	}
	js.m[j.id] = j
	return j, true
}

// finish stores a job's outcome and marks it finished.
func (js *importJobs) finish(j *importJob, res *crm.ImportResult, err error) {
	j.res, j.err = res, err
	js.mu.Lock()
	j.ended = time.Now()
	js.mu.Unlock()
	close(j.done)
}

// drop cancels the user's job of upload id, if any, and forgets it.
func (js *importJobs) drop(p *auth.Principal, id string) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j := js.m[id]; j != nil && j.tenant == p.TenantID && j.user == p.UserID {
		j.cancel()
		delete(js.m, id)
	}
}

// startImportJob starts the dry run or import of the upload in the
// background, with the mapping view d and the posted form. If a job of the
// upload still runs, it returns that one and starts none.
func (u *UI) startImportJob(r *http.Request, p *auth.Principal, dir, id string, m *importMeta, form url.Values, d *importMapView, dryRun bool) (*importJob, error) {
	f, err := os.Open(filepath.Join(dir, id+".csv"))
	if err != nil {
		return nil, err
	}
	saved := make(url.Values, len(form))
	for k, vs := range form {
		if k != "csrf_token" {
			saved[k] = slices.Clone(vs)
		}
	}
	// The job outlives the request: the user may go elsewhere meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), importJobTimeout)
	j := &importJob{id: id, tenant: p.TenantID, user: p.UserID, dryRun: dryRun, size: m.Size, form: saved, data: d,
		cancel: cancel, done: make(chan struct{})}
	if cur, ok := u.jobs.add(j); !ok {
		cancel()
		f.Close()
		return cur, nil
	}
	o := crm.ImportOptions{Mapping: d.Mapping, DryRun: dryRun, Mode: saved.Get("mode"), Duplicates: saved.Get("duplicates"),
		FileName: m.FileName, SHA256: m.SHA256}
	lm := meta(r)
	src := countingReader{r: f, n: &j.read}
	go func() {
		var res *crm.ImportResult
		var err error
		defer func() {
			if rec := recover(); rec != nil {
				u.Log.ErrorContext(ctx, "import job panicked", "panic", rec)
				res, err = nil, fmt.Errorf("web: import job: %v", rec)
			}
			if err == nil && res == nil {
				err = errors.New("web: import job without a result")
			}
			f.Close()
			cancel()
			// A successful import is done with the file.
			if err == nil && !dryRun && !res.RolledBack {
				removeImport(dir, id)
			}
			u.jobs.finish(j, res, err)
		}()
		if m.Entity == crm.EntityContact {
			res, err = u.CRM.ImportContacts(ctx, p, src, o, lm)
		} else {
			res, err = u.CRM.ImportCompanies(ctx, p, src, o, lm)
		}
	}()
	return j, nil
}

// renderImportResult shows a finished job's outcome: the dry run's report,
// the import's counts, the rolled-back import, or the mapping step again
// for a bad mapping or option.
func (u *UI) renderImportResult(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, j *importJob) {
	d := *j.data // each page its own copy: the job's may be rendered by several requests at once
	v.Form = j.form
	v.Data = &d
	if j.err != nil {
		if !formErrors(v, j.err) {
			u.fail(w, r, p, j.err)
			return
		}
		u.render(w, r, http.StatusUnprocessableEntity, "import_map", v)
		return
	}
	d.Result = j.res
	switch {
	case j.dryRun:
		u.render(w, r, http.StatusOK, "import_check", v)
	case j.res.RolledBack:
		v.Error = v.T("import.rolled_back")
		u.render(w, r, http.StatusUnprocessableEntity, "import_check", v)
	default:
		u.render(w, r, http.StatusOK, "import_done", v)
	}
}

type importProgressView struct {
	ID      string
	Meta    *importMeta
	DryRun  bool
	Percent int
}

// Announced is the progress as screen readers hear it: in steps of ten, so
// that the status does not change with every poll.
func (d importProgressView) Announced() int { return d.Percent / 10 * 10 }

// importProgressTarget is the id of the progress block that htmx polls.
const importProgressTarget = "import-progress"

// importProgress shows the progress of the upload's job while it runs, and
// its result once it has finished. htmx's poll of the progress block gets
// the block alone, or, when there is nothing to poll any more, a redirect
// to this page as a whole (HX-Redirect).
func (u *UI) importProgress(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	// The job first: after a successful import the upload is gone.
	j := u.jobs.get(p, r.PathValue("id"))
	poll := hxTarget(r) == importProgressTarget
	if poll && (j == nil || j.finished()) {
		w.Header().Set("HX-Redirect", r.URL.Path)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return
	}
	if j == nil {
		// No job (any more), but the upload may still wait for one.
		if _, id, _, ok := u.loadImport(w, r, p); ok {
			redirect(w, r, "/import/"+id)
		}
		return
	}
	v := u.importView(w, r, p)
	if j.finished() {
		u.renderImportResult(w, r, p, v, j)
		return
	}
	v.Data = importProgressView{ID: j.id, Meta: j.data.Meta, DryRun: j.dryRun, Percent: j.percent()}
	if poll {
		u.renderBlock(w, r, http.StatusOK, "import_progress", "import-progress-body", v)
		return
	}
	v.Refresh = importRefreshSeconds
	u.render(w, r, http.StatusOK, "import_progress", v)
}
