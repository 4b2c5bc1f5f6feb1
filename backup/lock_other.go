//go:build !unix

package backup

// lockDir does nothing where flock is missing; run one backup at a time.
func lockDir(dir, env string) (func(), error) { return func() {}, nil }
