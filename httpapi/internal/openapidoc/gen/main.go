// Command gen writes the OpenAPI document to the file named by its
// argument; httpapi runs it through go generate.
package main

import (
	"fmt"
	"os"

	"github.com/rpcrm/rpcrm/httpapi/internal/openapidoc"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen FILE")
		os.Exit(2)
	}
	b, err := openapidoc.JSON()
	if err == nil {
		err = os.WriteFile(os.Args[1], b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
