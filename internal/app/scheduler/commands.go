package scheduler

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/klite/klite/internal/scheduler"
)

// Command returns `klite scheduler` with its `explain` subcommand.
func Command() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the scheduler: bind pending pods to nodes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			klog.SetSlogLogger(o.Logger)
			cfg, err := loadKubeconfig(o.Kubeconfig)
			if err != nil {
				return err
			}
			return Run(cmd.Context(), cfg, *o)
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.AddCommand(explainCommand())
	return cmd
}

func loadKubeconfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}

func explainCommand() *cobra.Command {
	address := NewOptions().Address
	output := ""
	cmd := &cobra.Command{
		Use:   "explain NAMESPACE/POD",
		Short: "Show the running scheduler's last decision about a pod: each node's filter verdict or scores",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, name := splitKey(args[0])
			dec, raw, err := fetchExplanation(address, ns, name)
			if err != nil {
				return err
			}
			if output == "json" {
				_, err = cmd.OutOrStdout().Write(raw)
				return err
			}
			return printDecision(cmd.OutOrStdout(), dec)
		},
	}
	cmd.Flags().StringVar(&address, "address", address, "The scheduler's --address")
	cmd.Flags().StringVarP(&output, "output", "o", output, "Output format: empty for text, or json")
	return cmd
}

func fetchExplanation(address, ns, name string) (*scheduler.Decision, []byte, error) {
	if !strings.Contains(address, "://") {
		address = "http://" + address
	}
	resp, err := http.Get(address + "/explain/" + ns + "/" + name)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s/%s: %s", ns, name, strings.TrimSpace(string(raw)))
	}
	var dec scheduler.Decision
	if err := json.Unmarshal(raw, &dec); err != nil {
		return nil, nil, err
	}
	return &dec, raw, nil
}

func printDecision(out io.Writer, d *scheduler.Decision) error {
	fmt.Fprintf(out, "Pod:       %s\nResult:    %s\n", d.Pod, d.Result)
	if d.Node != "" {
		fmt.Fprintf(out, "Node:      %s\n", d.Node)
	}
	if d.Message != "" {
		fmt.Fprintf(out, "Message:   %s\n", d.Message)
	}
	fmt.Fprintf(out, "Decided:   %s (took %s)\nNodes:     %d in cluster, %d evaluated, %d feasible\n",
		metav1.NewTime(d.Time).Format("2006-01-02T15:04:05Z07:00"), d.Duration, d.Nodes, d.Evaluated, d.Feasible)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if len(d.Scores) > 0 {
		fmt.Fprintln(tw, "\nNODE\tTOTAL\tSCORES")
		for _, s := range d.Scores {
			parts := make([]string, len(s.Scores))
			for i, p := range s.Scores {
				parts[i] = fmt.Sprintf("%s=%d", p.Plugin, p.Score)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Name, s.Total, strings.Join(parts, " "))
		}
	}
	if len(d.Rejected) > 0 {
		fmt.Fprintln(tw, "\nNODE\tFILTER\tREASONS")
		for _, r := range d.Rejected {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Node, r.Plugin, strings.Join(r.Reasons, ", "))
		}
	}
	return tw.Flush()
}
