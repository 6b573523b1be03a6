package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EtcFiles returns the paths of the pod's hosts, hostname and resolv.conf,
// keyed by where containers mount them.
func (s *Sandbox) EtcFiles() map[string]string {
	return map[string]string{
		"/etc/hosts":       filepath.Join(s.Dir, "hosts"),
		"/etc/hostname":    filepath.Join(s.Dir, "hostname"),
		"/etc/resolv.conf": filepath.Join(s.Dir, "resolv.conf"),
	}
}

func writeEtcFiles(sb *Sandbox) error {
	hostname := sb.Config.Hostname
	if sb.Config.HostNetwork {
		hostname, _ = os.Hostname()
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if sb.IP != "" && hostname != "" {
		hosts += fmt.Sprintf("%s\t%s\n", sb.IP, hostname)
	}
	resolv, err := resolvConf(sb.Config.DNS)
	if err != nil {
		return err
	}
	files := sb.EtcFiles()
	for path, content := range map[string]string{
		files["/etc/hosts"]:       hosts,
		files["/etc/hostname"]:    hostname + "\n",
		files["/etc/resolv.conf"]: resolv,
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	return nil
}

func resolvConf(dns DNS) (string, error) {
	if len(dns.Servers) == 0 && len(dns.Searches) == 0 && len(dns.Options) == 0 {
		b, err := os.ReadFile("/etc/resolv.conf")
		if os.IsNotExist(err) {
			return "", nil
		}
		return string(b), err
	}
	var b strings.Builder
	for _, s := range dns.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(dns.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
	}
	return b.String(), nil
}
