"""Provider adapters. They know their SDK, never aiogram and never a model's name."""
