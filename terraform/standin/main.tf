# Stand-in for ../gce: the same inputs and outputs, built only from what Terraform has built in
# (terraform_data, local-exec), so the organizer's terraform-gce provider can be tested with the
# real terraform binary where no provider can be downloaded. `fail = true` makes the apply fail
# halfway, after the network and servers exist, with the error Google returns for a short quota.

locals {
  internal_domain = "${var.stack_name}.internal"
  external_domain = "${var.stack_name}.${var.dns_domain}"
  nomad_address   = "nomad.${local.internal_domain}"
  consul_address  = "consul.${local.internal_domain}"
  bastion_user    = "workshop"
}

resource "terraform_data" "network" {
  input = { name = "${var.stack_name}-net", cidr = var.subnet_cidr, region = var.region }
}

resource "terraform_data" "server" {
  count = var.servers
  input = { name = "${var.stack_name}-server-${count.index}", datacenter = "sys1", network = terraform_data.network.output.name }
}

resource "terraform_data" "clients" {
  for_each = toset(var.zones)
  input    = { zone = each.key, size = var.clients_per_zone, datacenter = "dc1", network = terraform_data.network.output.name }
}

resource "terraform_data" "bastion" {
  # TEST-NET-2 (RFC 5737): an address that is never routed.
  input = { host_key = var.bastion_host_public_key, attendee_key = var.attendee_public_key, address = "198.51.100.7" }

  depends_on = [terraform_data.server]

  provisioner "local-exec" {
    command = var.fail ? "echo \"googleapi: Error 403: Quota 'CPUS' exceeded.  Limit: 24.0 in region ${var.region}., quotaExceeded\" >&2; exit 1" : "sleep ${var.delay_seconds}"
  }

  lifecycle {
    precondition {
      condition     = alltrue([for z in var.zones : startswith(z, "${var.region}-")])
      error_message = "Every zone must be in the region ${var.region}; got ${join(", ", var.zones)}."
    }
  }
}

resource "terraform_data" "dns" {
  input = { internal = local.internal_domain, external = local.external_domain }
}
