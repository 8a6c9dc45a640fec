"""Hardware drivers: GPIO devices over gpiozero, I2C power monitors over a bus seam."""
