"""What every step shares: settings, clients, errors, event models and naming."""
