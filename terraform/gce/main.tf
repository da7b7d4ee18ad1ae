# One attendee stack: a private network, 3 Nomad servers in datacenter sys1, Nomad clients in
# datacenter dc1 spread over two zones, a bastion (the only public address) carrying the host
# key the provisioner generated, and an internal plus an external DNS zone.

locals {
  # Compute Engine names start with a letter and are at most 63 characters (instance template
  # prefixes 37); the organizer's stack names can be 59. Long ones keep a readable start and a
  # hash of the whole name, so stacks of one project never share a name.
  name_base = can(regex("^[a-z]", var.stack_name)) ? var.stack_name : "ok-${var.stack_name}"
  prefix    = length(local.name_base) <= 25 ? local.name_base : "${trimsuffix(substr(local.name_base, 0, 16), "-")}-${substr(sha1(var.stack_name), 0, 8)}"

  internal_domain = "${var.stack_name}.internal."
  external_domain = "${var.stack_name}.${var.dns_domain}."
  server_names    = [for i in range(var.servers) : "${local.prefix}-server-${i}"]
  labels          = { workshop = var.workshop, stack = var.stack_name, managed-by = "open-kitchen" }
  # What the extension reaches through the bastion; the bastion forwards to nothing else.
  nomad_address  = "nomad.${trimsuffix(local.internal_domain, ".")}"
  consul_address = "consul.${trimsuffix(local.internal_domain, ".")}"
  bastion_user   = "workshop"

  install = templatefile("${path.module}/scripts/install.sh.tftpl", {
    nomad_version  = var.nomad_version
    consul_version = var.consul_version
    docker_version = var.docker_version
  })
}

resource "google_compute_network" "stack" {
  name                    = "${local.prefix}-net"
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "stack" {
  name          = "${local.prefix}-subnet"
  network       = google_compute_network.stack.id
  region        = var.region
  ip_cidr_range = var.subnet_cidr
}

resource "google_compute_router" "stack" {
  name    = "${local.prefix}-router"
  network = google_compute_network.stack.id
  region  = var.region
}

# Outbound access for package and image downloads; nodes have no public addresses.
resource "google_compute_router_nat" "stack" {
  name                               = "${local.prefix}-nat"
  router                             = google_compute_router.stack.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}

resource "google_compute_firewall" "internal" {
  name          = "${local.prefix}-internal"
  network       = google_compute_network.stack.id
  source_ranges = [google_compute_subnetwork.stack.ip_cidr_range]
  allow {
    protocol = "tcp"
  }
  allow {
    protocol = "udp"
  }
  allow {
    protocol = "icmp"
  }
}

resource "google_compute_firewall" "bastion_ssh" {
  name          = "${local.prefix}-bastion-ssh"
  network       = google_compute_network.stack.id
  source_ranges = ["0.0.0.0/0"]
  target_tags   = ["bastion"]
  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_address" "bastion" {
  name   = "${local.prefix}-bastion"
  region = var.region
}

resource "google_compute_instance" "bastion" {
  name         = "${local.prefix}-bastion"
  zone         = var.zones[0]
  machine_type = var.machine_type_bastion
  tags         = ["bastion"]
  labels       = local.labels

  boot_disk {
    initialize_params {
      image = var.image
      size  = var.bastion_disk_size_gb
      type  = var.disk_type
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.stack.id
    access_config {
      nat_ip = google_compute_address.bastion.address
    }
  }

  metadata = {
    # Read by the startup script. Instance metadata is readable by whoever may read the
    # instance in the project (the organizers), not by the attendee.
    bastion-host-private-key = var.bastion_host_private_key
    bastion-host-public-key  = var.bastion_host_public_key
    attendee-public-key      = var.attendee_public_key
    block-project-ssh-keys   = "true"
  }
  metadata_startup_script = templatefile("${path.module}/scripts/bastion.sh.tftpl", {
    user        = local.bastion_user
    permit_open = "${local.nomad_address}:4646 ${local.consul_address}:8500"
  })

  lifecycle {
    precondition {
      condition     = alltrue([for z in var.zones : startswith(z, "${var.region}-")])
      error_message = "Every zone must be in the region ${var.region}; got ${join(", ", var.zones)}."
    }
  }
}

resource "google_compute_instance" "server" {
  count        = var.servers
  name         = local.server_names[count.index]
  zone         = var.zones[count.index % length(var.zones)]
  machine_type = var.machine_type_server
  tags         = ["nomad-server"]
  labels       = local.labels

  boot_disk {
    initialize_params {
      image = var.image
      size  = var.disk_size_gb
      type  = var.disk_type
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.stack.id
  }

  metadata_startup_script = join("\n", [local.install, templatefile("${path.module}/scripts/server.sh.tftpl", {
    servers      = var.servers
    datacenter   = "sys1"
    region       = var.region
    server_names = join(" ", [for n in local.server_names : "${n}.${local.internal_domain}"])
  })])
}

resource "google_compute_instance_template" "client" {
  name_prefix  = "${local.prefix}-client-"
  machine_type = var.machine_type_client
  tags         = ["nomad-client"]
  labels       = local.labels

  disk {
    source_image = var.image
    disk_size_gb = var.disk_size_gb
    disk_type    = var.disk_type
    boot         = true
    auto_delete  = true
  }

  network_interface {
    subnetwork = google_compute_subnetwork.stack.id
  }

  metadata = {
    startup-script = join("\n", [local.install, templatefile("${path.module}/scripts/client.sh.tftpl", {
      datacenter   = "dc1"
      region       = var.region
      server_names = join(" ", [for n in local.server_names : "${n}.${local.internal_domain}"])
    })])
  }

  lifecycle {
    create_before_destroy = true
  }
}

# One managed instance group per zone of dc1, so a zone outage takes out half of the clients.
resource "google_compute_instance_group_manager" "client" {
  for_each           = toset(var.zones)
  name               = "${local.prefix}-clients-${regex("[a-z]$", each.key)}"
  zone               = each.key
  base_instance_name = "${local.prefix}-client-${regex("[a-z]$", each.key)}"
  target_size        = var.clients_per_zone

  version {
    instance_template = google_compute_instance_template.client.id
  }
}

resource "google_dns_managed_zone" "internal" {
  name       = "${local.prefix}-internal"
  dns_name   = local.internal_domain
  visibility = "private"
  private_visibility_config {
    networks {
      network_url = google_compute_network.stack.id
    }
  }
}

resource "google_dns_record_set" "server" {
  count        = var.servers
  managed_zone = google_dns_managed_zone.internal.name
  name         = "${local.server_names[count.index]}.${local.internal_domain}"
  type         = "A"
  ttl          = 60
  rrdatas      = [google_compute_instance.server[count.index].network_interface[0].network_ip]
}

resource "google_dns_record_set" "nomad" {
  managed_zone = google_dns_managed_zone.internal.name
  name         = "${local.nomad_address}."
  type         = "A"
  ttl          = 60
  rrdatas      = [for s in google_compute_instance.server : s.network_interface[0].network_ip]
}

# Consul's servers run on the sys1 nodes (placed there by the Consul system job).
resource "google_dns_record_set" "consul" {
  managed_zone = google_dns_managed_zone.internal.name
  name         = "${local.consul_address}."
  type         = "A"
  ttl          = 60
  rrdatas      = [for s in google_compute_instance.server : s.network_interface[0].network_ip]
}

resource "google_dns_managed_zone" "external" {
  name     = "${local.prefix}-external"
  dns_name = local.external_domain
}

resource "google_dns_record_set" "bastion" {
  managed_zone = google_dns_managed_zone.external.name
  name         = "bastion.${local.external_domain}"
  type         = "A"
  ttl          = 300
  rrdatas      = [google_compute_address.bastion.address]
}
