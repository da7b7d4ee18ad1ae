# The same outputs as ../gce/outputs.tf, by name and shape (a test compares them).

output "bastion_host" {
  value = terraform_data.bastion.output.address
}

output "bastion_port" {
  value = 22
}

output "bastion_user" {
  value = local.bastion_user
}

output "bastion_host_key" {
  value = terraform_data.bastion.output.host_key
}

output "nomad_address" {
  value = local.nomad_address
}

output "nomad_port" {
  value = 4646
}

output "consul_address" {
  value = local.consul_address
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
  value = terraform_data.dns.output.internal
}

output "dns_external" {
  value = terraform_data.dns.output.external
}

output "nomad_token" {
  value     = null
  sensitive = true
}

output "consul_token" {
  value     = null
  sensitive = true
}

output "vm_count" {
  value = 1 + length(terraform_data.server) + var.clients_per_zone * length(terraform_data.clients)
}
