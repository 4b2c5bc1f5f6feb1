package check

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

const repoRoot = "../.."

// parseDockerfile parses the Dockerfile with BuildKit's own parser and
// every lint rule (experimental ones included) that runs at parse time.
func parseDockerfile(t *testing.T) ([]instructions.Stage, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile parser warning: %s (line %d)", w.Short, w.Location.Start.Line)
	}
	lint := linter.New(&linter.Config{ExperimentalAll: true, Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		t.Errorf("Dockerfile lint %s: %s (line %d)", rule, msg, loc[0].Start.Line)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	args := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	return stages, args
}

func expand(s string, args map[string]string) string {
	return os.Expand(s, func(k string) string { return args[k] })
}

func runLines(s instructions.Stage) []string {
	var out []string
	for _, c := range s.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			out = append(out, strings.Join(r.CmdLine, " "))
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	stages, args := parseDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want build and runtime", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// Base images pinned to a version, never "latest" or untagged.
	for _, s := range stages {
		img := expand(s.BaseName, args)
		if !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest") || strings.Contains(img, "${") {
			t.Errorf("stage %q: base image %q not pinned", s.Name, img)
		}
	}
	if got := expand(build.BaseName, args); !strings.HasPrefix(got, "golang:1.26") {
		t.Errorf("build stage from %q, want the project's Go 1.26", got)
	}

	// The build stage installs npm packages only when there is a lockfile,
	// then builds through the Makefile (so the asset copy the Makefile does
	// happens), statically.
	runs := strings.Join(runLines(build), "\n")
	for _, want := range []string{"if [ -f package-lock.json ]; then npm ci", "CGO_ENABLED=0 make build"} {
		if !strings.Contains(runs, want) {
			t.Errorf("build stage lacks %q in\n%s", want, runs)
		}
	}
	npm := strings.Index(runs, "npm ci")
	if mk := strings.Index(runs, "make build"); npm < 0 || mk < npm {
		t.Errorf("npm ci must run before make build")
	}

	// The runtime stage: only the binary from the build stage, a non-root
	// user set after everything that needs root, exec-form entrypoint,
	// a health check.
	var user string
	var copies []*instructions.CopyCommand
	var entry *instructions.EntrypointCommand
	var health bool
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.RunCommand:
			if user != "" {
				t.Errorf("RUN after USER in the runtime stage: %v", c.CmdLine)
			}
		case *instructions.CopyCommand:
			copies = append(copies, c)
		case *instructions.EntrypointCommand:
			entry = c
		case *instructions.HealthCheckCommand:
			health = true
		}
	}
	name := strings.Split(user, ":")[0]
	if user == "" || name == "root" || name == "0" {
		t.Errorf("runtime stage runs as %q, want a non-root user", user)
	}
	if len(copies) != 1 || copies[0].From != build.Name || !slices.Equal(copies[0].SourcePaths, []string{"/src/bin/rpcrm"}) {
		t.Errorf("runtime stage copies %+v, want only the binary from %q", copies, build.Name)
	}
	if entry == nil || entry.PrependShell || !slices.Equal(entry.CmdLine, []string{"/usr/local/bin/rpcrm"}) {
		t.Errorf("entrypoint %+v", entry)
	}
	if !health {
		t.Error("no HEALTHCHECK")
	}
	// `rpcrm backup` needs pg_dump of the compose files' PostgreSQL major.
	if r := strings.Join(runLines(final), " "); !strings.Contains(r, "postgresql17-client") {
		t.Errorf("runtime stage lacks the PostgreSQL 17 client: %s", r)
	}
	compose, err := os.ReadFile(filepath.Join("..", "compose", "compose.common.yml"))
	if err != nil || !strings.Contains(string(compose), "image: postgres:17-") {
		t.Errorf("compose PostgreSQL is not 17 (client and server must match): %v", err)
	}
}

// The build stage's command, run here: `CGO_ENABLED=0 make build` yields a
// static binary that runs on Alpine without libc.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "rpcrm")
	cmd := exec.Command("make", "-C", repoRoot, "build", "BIN="+bin, "VERSION=v0.0.0-check")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary is dynamically linked (%v)", p.Type)
		}
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "rpcrm v0.0.0-check (schema ") {
		t.Errorf("rpcrm version: %v %s", err, out)
	}
	st, _ := os.Stat(bin)
	t.Logf("static binary: %.1f MiB", float64(st.Size())/(1<<20))
}
