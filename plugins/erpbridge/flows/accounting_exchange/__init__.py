"""Accounting exchange: documents from the SaldeoSMART hub to each company's accounting program as the
program's own import file (EPP / EDI++ 1.05), written once and marked in the hub."""
