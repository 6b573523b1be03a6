package serviceaccount

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func TestDefaultServiceAccountCreatedAndRecreated(t *testing.T) {
	existing := env.Namespace(t)
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Namespaces: f.Core().V1().Namespaces(), ServiceAccounts: f.Core().V1().ServiceAccounts()})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
	fresh := env.Namespace(t)
	for _, ns := range []string{existing, fresh, "default", "kube-system"} {
		waitSA(t, ns)
	}
	if err := env.Client.CoreV1().ServiceAccounts(fresh).Delete(context.Background(), Default, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSA(t, fresh)
}

func waitSA(t *testing.T, ns string) {
	t.Helper()
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := env.Client.CoreV1().ServiceAccounts(ns).Get(context.Background(), Default, metav1.GetOptions{})
		return err == nil, fmt.Sprintf("%s: %v", ns, err)
	})
}

func TestNewRequiresInformers(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New with empty config succeeded")
	}
}
