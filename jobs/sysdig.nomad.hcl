# A monitoring agent on every dc1 client: a system job that mounts HOST paths into its
# container and runs privileged. Nomad's Docker driver refuses both unless the client allows
# them in its plugin configuration:
#
#   plugin "docker" {
#     config {
#       allow_privileged = true
#       volumes {
#         enabled = true
#       }
#     }
#   }
#
# Without it the task fails with "volumes are not enabled; cannot mount host paths: …".
# Nodes that allow volumes report the attribute driver.docker.volumes.enabled = true; adding a
# constraint on it would place the job only there instead of failing elsewhere.

job "sysdig" {
  datacenters = ["dc1"]
  type        = "system"

  group "sysdig" {
    task "sysdig" {
      driver = "docker"

      config {
        image      = "sysdig/sysdig:0.39.0"
        privileged = true
        command    = "sysdig"
        args       = ["-pc", "container.name!=host and evt.type=execve"]
        volumes = [
          "/var/run/docker.sock:/host/var/run/docker.sock",
          "/dev:/host/dev",
          "/proc:/host/proc:ro",
          "/boot:/host/boot:ro",
          "/lib/modules:/host/lib/modules:ro",
          "/usr:/host/usr:ro",
        ]
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
