// Package e2e holds RP CRM's browser tests: they build the rpcrm binary, run
// it as in production against a fresh PostgreSQL database with two demo
// tenants (mandant1.localhost and mandant2.localhost), and drive real
// headless Chromium through the web UI with chromedp. `make screenshots`
// runs the same setup to save pictures of the main pages under
// docs/screenshots/.
package e2e
