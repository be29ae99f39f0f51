// Command coalmine-argo-plugin is coalmine's Argo Rollouts metric-provider plugin.
// The Argo Rollouts controller starts it (see the README for the ConfigMap entry)
// and talks to it over go-plugin's net/rpc transport with Argo's metric-provider
// handshake.
package main

import (
	goPlugin "github.com/hashicorp/go-plugin"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/coalmine-rs/coalmine/integrations/argo-rollouts/provider"
)

func main() {
	goPlugin.Serve(&goPlugin.ServeConfig{
		HandshakeConfig: provider.Handshake,
		Plugins: map[string]goPlugin.Plugin{
			provider.PluginMapKey: &rpc.RpcMetricProviderPlugin{Impl: &provider.Plugin{}},
		},
	})
}
