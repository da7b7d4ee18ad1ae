# The organizer's terraform-gce provider maps exactly these outputs to the stack's connection
# details (src/organizer/providers/terraform.ts, mapOutputs); ../standin has the same outputs.

output "bastion_host" {
  description = "The bastion's public address, the stack's only one."
  value       = google_compute_address.bastion.address
}

output "bastion_port" {
  value = 22
}

output "bastion_user" {
  value = local.bastion_user
}

output "bastion_host_key" {
  description = "The host key the bastion was given; the organizer checks it is the one it generated."
  value       = var.bastion_host_public_key
}

output "nomad_address" {
  description = "Nomad's HTTP API as reached from the bastion."
  value       = local.nomad_address
}

output "nomad_port" {
  value = 4646
}

output "consul_address" {
  description = "Consul's HTTP API as reached from the bastion."
  value       = local.consul_address
}

output "consul_port" {
  value = 8500
}

output "region" {
  value = var.region
}

output "datacenters" {
  value = ["sys1", "dc1"]
}

output "zones" {
  value = var.zones
}

output "dns_internal" {
  value = trimsuffix(local.internal_domain, ".")
}

output "dns_external" {
  value = trimsuffix(local.external_domain, ".")
}

output "nomad_token" {
  description = "ACLs are off in the workshop's clusters."
  value       = null
  sensitive   = true
}

output "consul_token" {
  value     = null
  sensitive = true
}

output "vm_count" {
  value = 1 + var.servers + var.clients_per_zone * length(var.zones)
}
