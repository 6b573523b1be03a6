// Package catalog keeps klite processes that are not `klite kubectl` from
// loading kubectl's message catalogue.
//
// kubectl's command packages translate their help texts in package
// variables, so merely linking kubectl into klite made every klite process
// (server, shims and pause processes re-executed per pod) unpack and parse
// the catalogue at start: ~30 ms of a ~75 ms start. The catalogue can only
// be swapped out before the first translation, that is from a package
// initialiser that runs before kubectl's: this package sorts before
// k8s.io/... and imports only i18n, so Go initialises it first. The main
// package imports it for that effect alone.
package catalog

import (
	"os"

	"k8s.io/kubectl/pkg/util/i18n"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "kubectl" {
		return
	}
	// Without a catalogue the texts stay the English they are written in.
	if err := i18n.SetLoadTranslationsFunc(func() error { return nil }); err != nil {
		panic(err)
	}
}
