"""Backtest of the traffic model against baselines: protocol (rolling origins), metrics (CRPS from draws), baselines."""
