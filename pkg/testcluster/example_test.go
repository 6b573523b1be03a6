package testcluster_test

import (
	"context"
	"fmt"
	"log"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/pkg/testcluster"
)

// Outside a test, New starts a cluster and Stop ends it; in a test, testcluster.Start(t) does
// both.
func ExampleNew() {
	ctx := context.Background()
	c, err := testcluster.New(ctx, "", testcluster.WithNodes(2), testcluster.Quiet())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = c.Stop(ctx) }()
	nodes, err := c.Client().CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range nodes.Items {
		fmt.Println(n.Name)
	}
	// Output:
	// node-0
	// node-1
}
