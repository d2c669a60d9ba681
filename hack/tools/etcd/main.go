// Command etcd is the etcd server, built from the go.etcd.io/etcd/server/v3 module (etcd's own main
// package lives in a module with local replace directives, so it cannot be required).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
