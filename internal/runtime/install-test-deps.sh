#!/bin/sh
# Installs what klite's runtime tests need on a fresh Debian machine:
# busybox-static (the test image is built from /bin/busybox), runc (the external OCI runtime
# binary the --runc tests and the benchmark compare with; klite itself needs none),
# containernetworking-plugins (CNI bridge/host-local, for the CNI tests) and iproute2.
set -e
if [ ! -x /bin/busybox ] || ! command -v runc >/dev/null 2>&1 || [ ! -x /usr/lib/cni/bridge ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static runc containernetworking-plugins iproute2 >/dev/null
fi
