// Package image is klite's content-addressed image store.
//
// Layout under Config.Root:
//
//	layers/<diffid-hex>/      one unpacked layer, usable as an overlayfs lower dir
//	                          (whiteouts already turned into overlay whiteouts)
//	images/<id-hex>.json      one image record: ID (config digest), repo tags,
//	                          repo digests, layer diff IDs (base first), size, config
//
// Images arrive by Pull (from an OCI or Docker registry with
// go-containerregistry) or by Import (a `docker save` tarball or an OCI-layout
// tarball). Each layer is unpacked once, keyed by its diff ID, into a staging
// directory that is renamed into place, so a crash never leaves a half layer
// behind under its final name. Plain HTTP is only ever used for registries
// listed as insecure; loopback registries are insecure by default.
package image
