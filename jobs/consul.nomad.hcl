# Consul for the whole stack, deployed by Nomad as ONE system job (Docker driver):
#  - group "server": one Consul server on every Nomad node in datacenter sys1
#  - group "client": one Consul client agent on every Nomad client in datacenter dc1
# A system job places one allocation of each group on every eligible node whose datacenter
# and constraints match, so adding a dc1 client later gets a Consul agent automatically.

variable "consul_image" {
  type        = string
  description = "Pin a version: a moving tag like latest can change under a running cluster."
  default     = "hashicorp/consul:1.19.2"
}

variable "retry_join" {
  type        = string
  description = "How agents find the servers: the stack's internal DNS name for them."
  default     = "consul-server.internal"
}

job "consul" {
  datacenters = ["sys1", "dc1"]
  type        = "system"

  group "server" {
    constraint {
      attribute = "${node.datacenter}"
      value     = "sys1"
    }

    network {
      port "http" {
        static = 8500
      }
      port "dns" {
        static = 8600
      }
      port "server" {
        static = 8300
      }
      port "serf_lan" {
        static = 8301
      }
      port "serf_wan" {
        static = 8302
      }
    }

    task "consul" {
      driver = "docker"

      config {
        image        = var.consul_image
        network_mode = "host"
        args = [
          "agent",
          "-server",
          "-bootstrap-expect=3",
          "-datacenter=${node.datacenter}",
          "-node=${node.unique.name}",
          "-bind=${attr.unique.network.ip-address}",
          "-client=0.0.0.0",
          "-retry-join=${var.retry_join}",
          "-data-dir=/consul/data",
          "-ui",
        ]
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }

  group "client" {
    constraint {
      attribute = "${node.datacenter}"
      value     = "dc1"
    }

    network {
      port "http" {
        static = 8500
      }
      port "dns" {
        static = 8600
      }
      port "serf_lan" {
        static = 8301
      }
    }

    task "consul" {
      driver = "docker"

      config {
        image        = var.consul_image
        network_mode = "host"
        args = [
          "agent",
          "-datacenter=sys1",
          "-node=${node.unique.name}",
          "-bind=${attr.unique.network.ip-address}",
          "-client=0.0.0.0",
          "-retry-join=${var.retry_join}",
          "-data-dir=/consul/data",
        ]
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
