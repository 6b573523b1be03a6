#!/usr/bin/env bash
# The whole test suite: installs what the tests need (Debian packages: etcd-client, busybox-static,
# runc, containernetworking-plugins, iproute2), then runs gofmt, go vet,
# and every test with the race detector. Used as-is by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

apt_install() {
	local missing=()
	command -v etcdctl >/dev/null || missing+=(etcd-client)
	[ -x /bin/busybox ] || missing+=(busybox-static)
	command -v runc >/dev/null || missing+=(runc)
	[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
	command -v ip >/dev/null || missing+=(iproute2)
	if ((${#missing[@]})); then
		local sudo=""
		[ "$(id -u)" = 0 ] || sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}
apt_install

# crictl and critest (sigs.k8s.io/cri-tools) drive `klite runtime` in internal/app/runtime's
# tests, which find them in $(go env GOPATH)/bin. critest is a Ginkgo suite built with `go test -c`.
CRI_TOOLS_VERSION=v1.37.0
install_cri_tools() {
	local bin dir
	bin="$(go env GOPATH)/bin"
	[ -x "$bin/crictl" ] || go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRI_TOOLS_VERSION"
	if [ ! -x "$bin/critest" ]; then
		dir="$(cd / && go mod download -json "sigs.k8s.io/cri-tools@$CRI_TOOLS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
		(cd "$dir" && go test -c -o "$bin/critest" ./cmd/critest)
	fi
	export PATH="$PATH:$bin"
}
install_cri_tools

unformatted="$(gofmt -l cmd internal pkg test 2>/dev/null || true)"
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -race -count=1 -timeout 25m "$@" ./...
