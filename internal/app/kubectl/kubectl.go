// Package kubectl wires `klite kubectl`: the real kubectl (k8s.io/kubectl) compiled into klite, so a
// machine without kubectl can still drive the cluster. It defaults to the admin kubeconfig in the
// data directory when KUBECONFIG is unset and no --kubeconfig flag is given.
package kubectl

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"

	"github.com/klite/klite/internal/app/apiserver"
)

// Command returns `klite kubectl`; every argument after it goes to kubectl untouched.
func Command() *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl",
		Short:              "Run the real kubectl, compiled in, against this cluster (admin kubeconfig by default)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Run(args)
		},
	}
}

// Run executes kubectl with args.
func Run(args []string) error {
	if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
		path := filepath.Join(dataDir(), "admin.kubeconfig")
		if _, err := os.Stat(path); err == nil {
			os.Setenv("KUBECONFIG", path)
		}
	}
	k := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
		PluginHandler: kubectlcmd.NewDefaultPluginHandler([]string{"kubectl"}),
		Arguments:     append([]string{"kubectl"}, args...),
		IOStreams:     ioStreams(),
	})
	k.SetArgs(args)
	return k.Execute()
}

func hasKubeconfigFlag(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return a == "--kubeconfig" || strings.HasPrefix(a, "--kubeconfig=") })
}

// dataDir is klite's data directory: KLITE_DATA_DIR, or the default.
func dataDir() string {
	if d := os.Getenv("KLITE_DATA_DIR"); d != "" {
		return d
	}
	return apiserver.DefaultDataDir()
}
