-- Customers are searched by part of their organization's name too.

-- CreateIndex
CREATE INDEX "Customer_organization_trgm_idx" ON "Customer" USING GIN ("organization" gin_trgm_ops);
