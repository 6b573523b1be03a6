package pki

import (
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig renders a kubeconfig for server with the CA and a client certificate (or, when
// token is set, a bearer token).
func Kubeconfig(server string, caPEM []byte, client KeyPair, token string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["klite"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	user := &clientcmdapi.AuthInfo{ClientCertificateData: client.CertPEM, ClientKeyData: client.KeyPEM, Token: token}
	cfg.AuthInfos["admin"] = user
	cfg.Contexts["klite"] = &clientcmdapi.Context{Cluster: "klite", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "klite"
	return clientcmd.Write(*cfg)
}
