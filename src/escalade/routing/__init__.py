"""Up-front routing: which model a task should start on."""

from escalade.routing.gain import CompiledGainRouter, GainRouter

__all__ = ["CompiledGainRouter", "GainRouter"]
