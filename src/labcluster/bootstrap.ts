// What the provisioner runs on a fresh stack: in the workshop, Terraform deployed Consul as one
// Nomad system job (DESIGN.md). This is the same job as jobs/consul.nomad.hcl, as API JSON,
// because the job files are not shipped inside the bundled stack process.
import type { NomadJob } from './jobspec';

const CONSUL_IMAGE = 'hashicorp/consul:1.19.2';

const staticPorts = (ports: [string, number][]) => [{ Mode: '', ReservedPorts: ports.map(([Label, Value]) => ({ Label, Value, To: 0, HostNetwork: 'default' })), DynamicPorts: null }];

export function consulSystemJob(): NomadJob {
  const common = ['-node=${node.unique.name}', '-bind=${attr.unique.network.ip-address}', '-client=0.0.0.0', '-retry-join=consul-server.internal', '-data-dir=/consul/data'];
  const task = (args: string[], cpu: number, memory: number) => ({
    Name: 'consul',
    Driver: 'docker',
    Config: { image: CONSUL_IMAGE, network_mode: 'host', args },
    Resources: { CPU: cpu, MemoryMB: memory },
  });
  return {
    ID: 'consul',
    Name: 'consul',
    Type: 'system',
    Datacenters: ['sys1', 'dc1'],
    TaskGroups: [
      {
        Name: 'server',
        Count: 1,
        Constraints: [{ LTarget: '${node.datacenter}', RTarget: 'sys1', Operand: '=' }],
        Networks: staticPorts([
          ['http', 8500],
          ['dns', 8600],
          ['server', 8300],
          ['serf_lan', 8301],
          ['serf_wan', 8302],
        ]),
        Tasks: [task(['agent', '-server', '-bootstrap-expect=3', '-datacenter=${node.datacenter}', ...common, '-ui'], 500, 256)],
      },
      {
        Name: 'client',
        Count: 1,
        Constraints: [{ LTarget: '${node.datacenter}', RTarget: 'dc1', Operand: '=' }],
        Networks: staticPorts([
          ['http', 8500],
          ['dns', 8600],
          ['serf_lan', 8301],
        ]),
        Tasks: [task(['agent', '-datacenter=sys1', ...common], 200, 128)],
      },
    ],
  };
}
