# A small web service registered in Consul as "web", with an HTTP health check.
# After it runs: `consul catalog services` lists web, and
# `curl http://<any dc1 node>:<port>` answers with the allocation that served it.

job "web" {
  datacenters = ["dc1"]
  type        = "service"

  group "web" {
    count = 3

    network {
      port "http" {
        to = 5678
      }
    }

    service {
      name = "web"
      port = "http"
      tags = ["workshop", "http-echo"]

      check {
        type     = "http"
        path     = "/"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "http-echo" {
      driver = "docker"

      config {
        image = "hashicorp/http-echo:1.0.0"
        ports = ["http"]
        args = [
          "-listen", ":5678",
          "-text", "hello from ${NOMAD_ALLOC_NAME} on ${node.unique.name}",
        ]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
