package runtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/klite/klite/internal/runtime/image"
)

// Commands returns `runtime` and `image` for the root command.
func Commands() []*cobra.Command {
	return []*cobra.Command{runtimeCommand(), imageCommand()}
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func runtimeCommand() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "runtime",
		Short: "Serve klite's container runtime over the CRI on a unix socket (for crictl, critest, a kubelet)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), o, logger())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func imageCommand() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{Use: "image", Short: "Manage the runtime's image store"}
	o.AddRootFlag(cmd.PersistentFlags())
	cmd.AddCommand(
		&cobra.Command{
			Use:   "import FILE...",
			Short: "Load images from `docker save` or OCI-layout tarballs",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return importImages(cmd.Context(), o, args, cmd.OutOrStdout())
			},
		},
		&cobra.Command{
			Use:     "ls",
			Aliases: []string{"list"},
			Short:   "List stored images",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return listImages(o, cmd.OutOrStdout())
			},
		},
		&cobra.Command{
			Use:   "rm IMAGE...",
			Short: "Remove images by reference or ID",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return removeImages(o, args, cmd.OutOrStdout())
			},
		},
	)
	return cmd
}

func openStore(o *Options) (*image.Store, error) {
	return image.New(image.Config{Root: filepath.Join(o.Root, "images"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func importImages(ctx context.Context, o *Options, files []string, out io.Writer) error {
	s, err := openStore(o)
	if err != nil {
		return err
	}
	for _, f := range files {
		imgs, err := s.Import(ctx, f)
		if err != nil {
			return err
		}
		for _, img := range imgs {
			fmt.Fprintf(out, "imported %s %s\n", shortID(img.ID), strings.Join(img.RepoTags, ","))
		}
	}
	return nil
}

func listImages(o *Options, out io.Writer) error {
	s, err := openStore(o)
	if err != nil {
		return err
	}
	imgs, err := s.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tTAG\tIMAGE ID\tSIZE")
	for _, img := range imgs {
		tags := img.RepoTags
		if len(tags) == 0 {
			tags = []string{"<none>:<none>"}
		}
		for _, t := range tags {
			repo, tag := splitTag(t)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", repo, tag, shortID(img.ID), humanSize(img.Size))
		}
	}
	return tw.Flush()
}

func removeImages(o *Options, refs []string, out io.Writer) error {
	s, err := openStore(o)
	if err != nil {
		return err
	}
	for _, r := range refs {
		img, err := s.Get(r)
		if err != nil {
			return err
		}
		if err := s.Remove(img.ID); err != nil {
			return err
		}
		fmt.Fprintf(out, "deleted %s\n", img.ID)
	}
	return nil
}

// splitTag splits "reg:5000/repo:tag" at the tag's colon.
func splitTag(ref string) (string, string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "<none>"
	}
	return ref[:i], ref[i+1:]
}

func shortID(id string) string {
	h := strings.TrimPrefix(id, "sha256:")
	if len(h) > 13 {
		h = h[:13]
	}
	return h
}

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
