// Package e2e drives the built klite binary with the real kubectl (and etcdctl), as a user would.
package e2e
