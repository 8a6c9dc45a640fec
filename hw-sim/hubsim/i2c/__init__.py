"""Byte-level I2C simulation: a SimBus with fault injection and register models of the power chips."""

from .ads1115 import ADS1115Sim
from .bus import I2CDevice, RegisterDevice, SimBus
from .ina219 import INA219Sim
from .ina226 import INA226Sim

__all__ = ["ADS1115Sim", "I2CDevice", "INA219Sim", "INA226Sim", "RegisterDevice", "SimBus"]
