"""The engine: every metric the product computes, in plain Python.

Finance (ROI, NPV, IRR, payback, TEI), survey scores (NPS, CSAT, CES),
before/after impact, customer value (CLTV, churn, Kaplan-Meier), BG/NBD and
Gamma-Gamma, multi-touch attribution, the Monte Carlo risk, the automation
tracker's ROI model and its defaults. Usable without Excel.

May import: numpy, pandas, scipy, statsmodels and :mod:`cxroi_xl.errors`;
nothing else of the package (no openpyxl, no xlwings).
"""
