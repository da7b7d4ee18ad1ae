# Configuration injected two ways: a template renders redis.conf (values from Consul KV, with
# defaults so the job also starts before anyone has written the keys), and the rendered file
# is mounted into the container with a Docker volume. Relative paths (inside the allocation
# directory) are always allowed; host paths need the Docker plugin's volumes enabled.
#
#   consul kv put kitchen/cache/maxmemory 128mb   # then watch the allocation restart

job "cache" {
  datacenters = ["dc1"]
  type        = "service"

  group "cache" {
    count = 1

    ephemeral_disk {
      sticky  = true
      migrate = true
      size    = 300
    }

    network {
      port "redis" {
        to = 6379
      }
    }

    service {
      name = "cache"
      port = "redis"
      tags = ["redis"]

      check {
        type     = "tcp"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "redis" {
      driver = "docker"

      config {
        image   = "redis:7.2.5"
        ports   = ["redis"]
        command = "redis-server"
        args    = ["/usr/local/etc/redis/redis.conf"]
        volumes = ["local/redis.conf:/usr/local/etc/redis/redis.conf"]
      }

      template {
        destination = "local/redis.conf"
        change_mode = "restart"
        data        = <<EOT
# rendered by Nomad for {{ env "NOMAD_ALLOC_NAME" }}
port 6379
maxmemory {{ keyOrDefault "kitchen/cache/maxmemory" "64mb" }}
maxmemory-policy {{ keyOrDefault "kitchen/cache/policy" "allkeys-lru" }}
appendonly yes
dir /alloc/data
EOT
      }

      template {
        destination = "secrets/cache.env"
        env         = true
        data        = <<EOT
CACHE_OWNER={{ keyOrDefault "kitchen/cache/owner" "workshop" }}
EOT
      }

      env {
        REDIS_ARGS = "--save 60 1"
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
