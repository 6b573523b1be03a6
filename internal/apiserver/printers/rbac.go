package printers

import (
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
)

// rbacPrinter returns the printer of a kind in the rbac.authorization.k8s.io group.
// Roles and ClusterRoles have none: upstream prints them with the default table.
func rbacPrinter(kind string) (Printer, bool) {
	switch kind {
	case "RoleBinding":
		return bindingPrinter("roleBinding", rbacv1beta1.RoleBinding{}.SwaggerDoc()["roleRef"], simpleCells(func(b *rbacv1.RoleBinding, now time.Time) []interface{} {
			return bindingCells(b.Name, b.RoleRef, b.Subjects, age(b.CreationTimestamp, now))
		})), true
	case "ClusterRoleBinding":
		return bindingPrinter("clusterRoleBinding", rbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"], simpleCells(func(b *rbacv1.ClusterRoleBinding, now time.Time) []interface{} {
			return bindingCells(b.Name, b.RoleRef, b.Subjects, age(b.CreationTimestamp, now))
		})), true
	}
	return Printer{}, false
}

func bindingPrinter(what, roleDoc string, cells cellFunc) Printer {
	return Printer{
		Columns: cols(nameColumn(),
			str("Role", roleDoc),
			ageColumn(),
			wide(str("Users", "Users in the "+what)),
			wide(str("Groups", "Groups in the "+what)),
			wide(str("ServiceAccounts", "ServiceAccounts in the "+what))),
		Cells: cells,
	}
}

// bindingCells renders the role as "Kind/name" and the subjects by kind, service
// accounts as "namespace/name".
func bindingCells(name string, role rbacv1.RoleRef, subjects []rbacv1.Subject, age string) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		}
	}
	return []interface{}{name, fmt.Sprintf("%s/%s", role.Kind, role.Name), age,
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", ")}
}
