# The menu API on a MOVING tag. "1.4" means "whatever upstream last pushed as 1.4": today
# that is 1.4.1, but when a patch release is re-pushed under the same tag, new allocations
# pull the new image, and 1.4.2 renamed a flag, so they crash at start.
# The fix is menu-pinned.nomad.hcl: the same job with the version pinned.

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
        image = "openkitchen/menu-api:1.4"
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
