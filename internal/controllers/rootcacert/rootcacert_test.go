package rootcacert

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

const bundle = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

func TestPublishesAndRestoresBundle(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Namespaces: f.Core().V1().Namespaces(), ConfigMaps: f.Core().V1().ConfigMaps(), RootCA: []byte(bundle)})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
	ns := env.Namespace(t)
	wait := func() {
		t.Helper()
		controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
			cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), ConfigMapName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return cm.Data[Key] == bundle && len(cm.Data) == 1, fmt.Sprintf("data %v", cm.Data)
		})
	}
	wait()
	cm, _ := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), ConfigMapName, metav1.GetOptions{})
	cm.Data = map[string]string{Key: "tampered", "extra": "x"}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait()
	if err := env.Client.CoreV1().ConfigMaps(ns).Delete(context.Background(), ConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait()
}

func TestNewRequiresBundle(t *testing.T) {
	f := env.Factory()
	if _, err := New(Config{Client: env.Client, Namespaces: f.Core().V1().Namespaces(), ConfigMaps: f.Core().V1().ConfigMaps()}); err == nil {
		t.Fatal("New without RootCA succeeded")
	}
}
