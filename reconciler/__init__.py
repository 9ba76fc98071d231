"""reconciler: a Terraform-style GitOps reconciler for mParticle Calculated Attributes."""

__version__ = "0.1.0"
