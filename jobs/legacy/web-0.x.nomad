# A job file from the Nomad 0.x / HCL1 days, kept to show how syntax changes between Nomad
# versions break jobs. Nomad 1.x parses job files as HCL2 and rejects it (HCL1 allowed quoted
# keys in blocks; HCL2 does not):
#
#   web-0.x.nomad:39,9-10: Invalid argument name; Argument names must not be quoted.
#
# Fixed, it still carries 0.x habits that 1.x only tolerates: ports inside the task's
# resources (deprecated since 0.12; use a group network block) and the docker driver's
# port_map (use config.ports and port "http" { to = 5678 }). jobs/web.nomad.hcl is the
# modern form of the same job.

job "web-legacy" {
  datacenters = ["dc1"]

  group "web" {
    count = 2

    task "http-echo" {
      driver = "docker"

      config {
        image = "hashicorp/http-echo:0.2.3"
        args  = ["-listen", ":5678", "-text", "hello from 2016"]
        port_map {
          http = 5678
        }
      }

      resources {
        cpu    = 100
        memory = 64
        network {
          mbits = 10
          port "http" {}
        }
      }

      env {
        "APP_MODE" = "legacy"
      }

      service {
        name = "web-legacy"
        port = "http"
      }
    }
  }
}
