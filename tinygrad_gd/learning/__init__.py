"""The learning kit: networks, losses, optimizers, training, data sets, saving, plots."""
