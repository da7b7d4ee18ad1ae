# A service spread evenly over the two availability zones of dc1. The zone comes from the
# node attribute Nomad's GCE fingerprinter sets (platform.gce.zone). Take a zone down and
# watch Nomad reschedule the lost allocations into the surviving zone.

job "frontend" {
  datacenters = ["dc1"]
  type        = "service"

  update {
    max_parallel     = 1
    min_healthy_time = "10s"
    healthy_deadline = "3m"
  }

  group "frontend" {
    count = 4

    spread {
      attribute = "${attr.platform.gce.zone}"
      weight    = 100
    }

    network {
      port "http" {
        to = 80
      }
    }

    service {
      name = "frontend"
      port = "http"
      tags = ["zone-${attr.platform.gce.zone}"]

      check {
        type     = "http"
        path     = "/"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "nginx" {
      driver = "docker"

      config {
        image = "nginx:1.27.3"
        ports = ["http"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
