# The menu API with its image PINNED to an exact release. Re-pushing the "1.4" tag upstream
# no longer changes what this job runs; upgrading is a deliberate edit of this line.
# (Pinning by digest, image = "openkitchen/menu-api@sha256:…", is stricter still.)

job "menu" {
  datacenters = ["dc1"]
  type        = "service"

  update {
    max_parallel     = 1
    health_check     = "checks"
    min_healthy_time = "5s"
    healthy_deadline = "1m"
    auto_revert      = false
  }

  group "api" {
    count = 2

    network {
      port "http" {
        to = 8080
      }
    }

    service {
      name = "menu-api"
      port = "http"

      check {
        type     = "http"
        path     = "/menu"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "api" {
      driver = "docker"

      config {
        image = "openkitchen/menu-api:1.4.1"
        ports = ["http"]
        args  = ["--listen", "0.0.0.0:8080", "--menu", "/local/menu.json"]
      }

      template {
        destination = "local/menu.json"
        data        = <<EOT
{ "dishes": ["soup", "bread", "salad"], "served_by": "{{ env "NOMAD_ALLOC_NAME" }}" }
EOT
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
