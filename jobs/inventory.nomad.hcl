# A batch job: runs to completion once, then its allocation shows "complete".
# `nomad job status inventory` shows the finished allocation; its logs hold the report.

job "inventory" {
  datacenters = ["dc1"]
  type        = "batch"

  group "count" {
    count = 1

    task "report" {
      driver = "docker"

      config {
        image   = "busybox:1.36.1"
        command = "sh"
        args    = ["-c", "echo counting the pantry on $(hostname); sleep 5; echo 42 jars of jam; echo done"]
      }

      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
