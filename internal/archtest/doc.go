// Package archtest checks the repository's structural rules with `go list`: which packages may
// import which, and that every package says what it is for.
package archtest
