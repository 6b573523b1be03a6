// Command klite is Kubernetes in one binary. See `klite --help`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/klite/klite/internal/app/agent"
	"github.com/klite/klite/internal/app/apiserver"
	"github.com/klite/klite/internal/app/controllermanager"
	"github.com/klite/klite/internal/app/kubectl"
	_ "github.com/klite/klite/internal/app/kubectl/catalog" // before kubectl's packages: see its doc
	appkubelet "github.com/klite/klite/internal/app/kubelet"
	appruntime "github.com/klite/klite/internal/app/runtime"
	appscheduler "github.com/klite/klite/internal/app/scheduler"
	"github.com/klite/klite/internal/app/server"
	appsim "github.com/klite/klite/internal/app/sim"
)

func main() {
	// klite re-executes itself as container shims and inits (pause processes
	// never reach Go: see internal/runtime/pause).
	if appruntime.MaybeRunHelper() {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "klite",
		Short:         "Kubernetes in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCommand(), apiserverCommand())
	root.AddCommand(appruntime.Commands()...)
	root.AddCommand(kubectl.Command(), appscheduler.Command(), appsim.Command(), controllermanager.Command(), appkubelet.Command(), agent.Command())
	return root
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func serverCommand() *cobra.Command {
	o := server.NewOptions()
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a whole cluster on this machine: embedded etcd, API server, scheduler, controllers and a local agent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return server.Run(cmd.Context(), o, logger(), nil)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func apiserverCommand() *cobra.Command {
	o := apiserver.NewOptions()
	cmd := &cobra.Command{
		Use:   "apiserver",
		Short: "Run the API server alone, over the etcd cluster named by --etcd-servers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return apiserver.Run(cmd.Context(), o, logger(), nil)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
